#!/usr/bin/env bash
# TLS origination from an HTTP listener (tests/data/https-upstream.json on the
# L4 topology of lib_l4.sh; certificates from tools/certs.sh): plaintext HTTP
# in, mTLS up to nginx (ssl_verify_client on, its own SPIFFE server
# certificate) with the cluster's client identity; nginx sees that identity's
# SPIFFE ID and serial; keep-alive requests reuse one pooled TLS connection (one
# handshake); a plain cluster to the same endpoint never gets that connection;
# an upstream presenting another identity than the cluster expects is refused
# (503, counted); a second connection to the endpoint resumes the first one's
# session; and a rotated client secret (meshctl secret apply) is used by
# the next request at once while the pooled connection made under the old one
# closes within the 3 s drain window.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_l4.sh"
PKI=$IT_WORK/pki
PROXY=10.10.1.1
NGX=$IT_WORK/up-nginx
certs=$IT_ROOT/tools/certs.sh
"$certs" "$PKI" >/dev/null
"$certs" "$PKI" leaf mesh spiffe://cluster.local/ns/shop/sa/frontend --client >/dev/null
"$certs" "$PKI" leaf mesh2 spiffe://cluster.local/ns/shop/sa/frontend --client --hours 6 >/dev/null
"$certs" "$PKI" leaf web spiffe://cluster.local/ns/shop/sa/web --server --dns web.test >/dev/null
sed "s|@PKI@|$PKI|g" "$IT_ROOT/tests/data/https-upstream.json" >"$IT_WORK/https-upstream.json"

diag() { it_ctl stats | grep -v " 0$" | grep -E "tls_|http_|proxy_" >&2 || true; }
fail() { diag; it_fail "$@"; }
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
counter_is() { [ "$(it_stat "$1")" -eq "$2" ]; }
counter_ge() { [ "$(it_stat "$1")" -ge "$2" ]; }
# get PATH ARGS...: a plaintext request to the HTTP listener, each one its own client connection
get() { it_in_client curl -sS -m 5 "${@:2}" "http://$PROXY:8450$1"; }
# field N OUT: word N of nginx's answer "mtls VERIFY SERIAL CONNECTION REQUESTS SNI PROTOCOL REUSED ALPN"
field() { awk -v n="$1" '{print $n}' <<<"$2"; }

it_start_meshdp --config "$IT_WORK/https-upstream.json"
it_topology_backends
# the mTLS upstream: nginx in mdp-b1 on 8443 with the web identity, client
# certificates required and verified by the trust domain's CA; the access log
# keeps each request's client certificate (PEM, URL-escaped)
mkdir -p "$NGX"
head -c 6000 /dev/zero >"$NGX/slow" # 6 KB at 2 KB/s: a response that keeps its connection busy
it_nginx_conf "$NGX" <<NGINX
	log_format cert '\$ssl_client_serial \$ssl_client_escaped_cert';
	access_log $NGX/access.log cert;
	server {
		listen 8443 ssl;
		ssl_certificate $PKI/web.pem;
		ssl_certificate_key $PKI/web.key;
		ssl_client_certificate $PKI/ca.pem;
		ssl_verify_client on;
		ssl_protocols TLSv1.2 TLSv1.3;
		keepalive_requests 1000;
		location / { return 200 "mtls \$ssl_client_verify \$ssl_client_serial \$connection \$connection_requests \$ssl_server_name \$ssl_protocol \$ssl_session_reused \$ssl_alpn_protocol\n"; }
		location /slow { limit_rate 2k; alias $NGX/slow; }
	}
NGINX
ip netns exec mdp-b1 nginx -c "$NGX/nginx.conf"
cleanup()
{
	set +e
	[ -f "$NGX/nginx.pid" ] && kill "$(cat "$NGX/nginx.pid")" 2>/dev/null
	it_l4_cleanup
}
trap cleanup EXIT
nginx_tls_up() { ip netns exec mdp-b1 curl -sk -o /dev/null https://127.0.0.1:8443/ || [ $? -ne 7 ]; }
it_wait_for "the mTLS nginx serving" 10 nginx_tls_up
serial1=$(serial_of "$PKI/mesh.pem")
serial2=$(serial_of "$PKI/mesh2.pem")

it_log "plaintext in, mTLS out: nginx verified the cluster's client certificate (SNI web.test, ALPN http/1.1)"
hs0=$(it_stat tls_handshakes)
out=$(get /) || fail "curl through the HTTP listener failed: $out"
[ "$(field 2 "$out")" = SUCCESS ] || fail "nginx did not verify meshdp's client certificate: $out"
[ "$(field 3 "$out")" = "$serial1" ] || fail "nginx saw serial $(field 3 "$out"), expected mesh.pem's $serial1"
[ "$(field 6 "$out")" = web.test ] || fail "the cluster's server_name was not sent: $out"
[ "$(field 9 "$out")" = http/1.1 ] || fail "ALPN did not agree http/1.1: $out"
conn=$(field 4 "$out")
it_log "nginx's log: the client certificate carries meshdp's SPIFFE ID"
"$IT_PY" - "$NGX/access.log" <<'PY' >"$IT_WORK/client.pem" || fail "no client certificate in nginx's log: $(cat "$NGX/access.log")"
import sys, urllib.parse
line = open(sys.argv[1]).read().splitlines()[-1]
sys.stdout.write(urllib.parse.unquote(line.split(" ", 1)[1]))
PY
san=$(openssl x509 -in "$IT_WORK/client.pem" -noout -ext subjectAltName)
grep -q "URI:spiffe://cluster.local/ns/shop/sa/frontend" <<<"$san" || fail "nginx saw no SPIFFE ID of the client: $san"
[ "$(it_stat tls_handshakes)" -eq $((hs0 + 1)) ] || fail "tls_handshakes went from $hs0 to $(it_stat tls_handshakes), expected one"

it_log "keep-alive: 6 requests (6 client connections), one pooled TLS connection upstream"
reused0=$(it_stat http_pool_reused)
for i in 1 2 3 4 5 6; do
	out=$(get /) || fail "request $i failed: $out"
	[ "$(field 4 "$out")" = "$conn" ] || fail "request $i came on nginx connection $(field 4 "$out"), not $conn: $out"
	[ "$(field 5 "$out")" -eq $((i + 1)) ] || fail "request $i is not request $((i + 1)) of the connection: $out"
done
[ "$(it_stat tls_handshakes)" -eq $((hs0 + 1)) ] || fail "keep-alive made new handshakes: tls_handshakes $(it_stat tls_handshakes), expected $((hs0 + 1))"
[ "$(it_stat http_pool_reused)" -ge $((reused0 + 6)) ] || fail "http_pool_reused went from $reused0 to $(it_stat http_pool_reused)"
echo "    7 requests, $(($(it_stat tls_handshakes) - hs0)) handshake, http_pool_reused +$(($(it_stat http_pool_reused) - reused0))"

it_log "a plain cluster to the same endpoint (10.10.2.11:8443) never takes the TLS connection"
for _ in 1 2; do
	code=$(get /plain/ -o "$IT_WORK/plain.out" -w '%{http_code}') || fail "the plain request failed"
	[ "$code" = 400 ] && grep -q "plain HTTP request was sent to HTTPS port" "$IT_WORK/plain.out" ||
		fail "the plain cluster's request did not reach nginx as plaintext ($code): $(cat "$IT_WORK/plain.out")"
	out=$(get /) || fail "curl after the plain request failed: $out"
	[ "$(field 4 "$out")" = "$conn" ] || fail "the TLS request did not reuse nginx connection $conn: $out"
done

it_log "secure naming: the wrong expected server identity is refused (503, counted as a connect failure)"
sn0=$(it_stat tls_hs_fail_secure_name)
cf0=$(it_stat http_upstream_cx_connect_fail)
code=$(get /wrong/ -o "$IT_WORK/wrong.out" -w '%{http_code}') || fail "the /wrong/ request failed"
[ "$code" = 503 ] || fail "the wrong identity answered $code: $(cat "$IT_WORK/wrong.out")"
it_wait_for "tls_hs_fail_secure_name counted" 5 counter_ge tls_hs_fail_secure_name $((sn0 + 1))
[ "$(it_stat http_upstream_cx_connect_fail)" -gt "$cf0" ] || fail "the refused handshake was not a connect failure"

it_log "rotation of the client secret: the next request presents the new serial, the pooled connection closes within 3 s"
dc0=$(it_stat http_pool_tls_drain_closed)
rc0=$(it_stat tls_rotation_closed)
it_ctl secret apply mesh-client --cert "$PKI/mesh2.pem" --key "$PKI/mesh2.key" >/dev/null || fail "secret apply refused"
t0=$SECONDS
out=$(get /) || fail "curl after the rotation failed: $out"
[ "$(field 3 "$out")" = "$serial2" ] || fail "nginx saw serial $(field 3 "$out") after the rotation, expected mesh2.pem's $serial2"
[ "$(field 4 "$out")" != "$conn" ] || fail "the rotated request came on the old connection: $out"
conn2=$(field 4 "$out")
it_wait_for "the old pooled connection closed" 6 counter_ge http_pool_tls_drain_closed $((dc0 + 1))
[ $((SECONDS - t0)) -le 5 ] || fail "the old pooled connection closed after $((SECONDS - t0)) s (window 3 s)"
[ "$(it_stat tls_rotation_closed)" -ge $((rc0 + 1)) ] || fail "tls_rotation_closed did not count the rotation"
out=$(get /) || fail "curl after the drain failed: $out"
[ "$(field 3 "$out")" = "$serial2" ] && [ "$(field 4 "$out")" = "$conn2" ] ||
	fail "the new pooled connection was not reused with the new serial: $out"

it_log "session resumption per endpoint: a second connection while the first is busy resumes its session"
res0=$(it_stat tls_resumed)
get /slow -o /dev/null &
slow=$!
sleep 0.5
out=$(get /) || fail "curl beside the slow request failed: $out"
wait $slow || fail "the slow request failed"
[ "$(field 4 "$out")" != "$conn2" ] || fail "the request came on the busy connection: $out"
[ "$(field 8 "$out")" = r ] || fail "nginx did not resume the session: $out"
[ "$(field 3 "$out")" = "$serial2" ] || fail "the resumed session is not the client identity's: $out"
[ "$(it_stat tls_resumed)" -eq $((res0 + 1)) ] || fail "tls_resumed went from $res0 to $(it_stat tls_resumed)"
it_log "counters: $(it_ctl stats | grep -E '^(tls_|http_pool)' | grep -v ' 0$' | tr '\n' ' ')"
