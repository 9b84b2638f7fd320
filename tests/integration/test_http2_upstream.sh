#!/usr/bin/env bash
# HTTP/2 upstreams (a cluster with "protocol": "http2"; the L4 topology of
# lib_l4.sh with nghttpd, Debian's nghttp2-server, in mdp-b1 as an h2c
# endpoint that answers without content-length, adds a trailer and echoes
# uploads, and allows 4 concurrent streams): HTTP/1.1 clients (curl
# --http1.1) and HTTP/2 clients (curl --http2-prior-knowledge) through
# meshdp to it, sha256 checked both ways (a 3 MB download through the
# windows, uploads with content-length and chunked), the endpoint's trailer
# carried (chunked trailers to HTTP/1.1, HTTP/2 trailers to HTTP/2), the
# connection-specific fields of the client's request not reaching the
# endpoint (nghttpd -v logs what it received), h2load with 40 streams on one
# client connection and with 10 HTTP/1.1 connections, multiplexed on as few
# upstream connections as the endpoint's 4 streams allow (counters); and a
# TLS nghttpd with the mesh's web identity behind a cluster with protocol
# "auto" and a tls block (ALPN h2, secure naming), one connection for two
# requests; and nginx with the same identity speaking HTTP/1.1 only behind
# two more auto clusters: the endpoint's ALPN choice http/1.1 is taken (the
# probing connection used as HTTP/1.1, the requests waiting on it started
# again over HTTP/1.1, later ones from the HTTP/1.1 pool); a raw HTTP/2
# endpoint (h2_raw.py serve100) whose 100 reaches HTTP/1.1 and HTTP/2
# clients that sent Expect: 100-continue.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_l4.sh"
source "$(dirname "$0")/lib_http.sh"
PROXY=$IT_HTTP_PROXY
PKI=$IT_WORK/pki
"$IT_ROOT/tools/certs.sh" "$PKI" >/dev/null
"$IT_ROOT/tools/certs.sh" "$PKI" leaf web spiffe://cluster.local/ns/shop/sa/web --server --dns web.test >/dev/null

"$IT_PY" - "$IT_ROOT/tests/data/http-proxy.json" "$PKI" >"$IT_WORK/h2up.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["secrets"] = {"trust_domains": [{"name": "cluster.local", "bundle": sys.argv[2] + "/ca.pem"}]}
d["services"].append({"name": "h2tls", "namespace": "shop", "vip": "10.30.0.21",
                      "ports": [{"port": 8443, "protocol": "tcp"}],
                      "endpoints": [{"address": "10.10.2.11"}], "health": {"interval_ms": 0}})
d["policies"].append({"name": "frontend-to-h2tls", "action": "allow",
                      "from": {"namespace": "shop", "service": "frontend"},
                      "to": {"service": "h2tls"}})
d["clusters"].append({"service": "shop/h2tls", "protocol": "auto",
                      "tls": {"expected_peer": "spiffe://cluster.local/ns/shop/sa/web",
                              "server_name": "web.test"}})
d["services"].append({"name": "h2cont", "namespace": "shop", "vip": "10.30.0.24",
                      "ports": [{"port": 8003, "protocol": "tcp"}],
                      "endpoints": [{"address": "10.10.2.11"}], "health": {"interval_ms": 0}})
d["policies"].append({"name": "frontend-to-h2cont", "action": "allow",
                      "from": {"namespace": "shop", "service": "frontend"},
                      "to": {"service": "h2cont"}})
d["clusters"].append({"service": "shop/h2cont", "protocol": "http2"})
for name, vip in (("h1tls", "10.30.0.22"), ("h1tls2", "10.30.0.23")):
    d["services"].append({"name": name, "namespace": "shop", "vip": vip,
                          "ports": [{"port": 8444, "protocol": "tcp"}],
                          "endpoints": [{"address": "10.10.2.11"}], "health": {"interval_ms": 0}})
    d["policies"].append({"name": "frontend-to-" + name, "action": "allow",
                          "from": {"namespace": "shop", "service": "frontend"},
                          "to": {"service": name}})
    d["clusters"].append({"service": "shop/" + name, "protocol": "auto",
                          "tls": {"expected_peer": "spiffe://cluster.local/ns/shop/sa/web",
                                  "server_name": "web.test"}})
d["services"].append({"name": "h2up", "namespace": "shop", "vip": "10.30.0.20",
                      "ports": [{"port": 8002, "protocol": "tcp"}],
                      "endpoints": [{"address": "10.10.2.11"}], "health": {"interval_ms": 0}})
d["policies"].append({"name": "frontend-to-h2up", "action": "allow",
                      "from": {"namespace": "shop", "service": "frontend"},
                      "to": {"service": "h2up"}})
d["clusters"].append({"service": "shop/h2up", "protocol": "http2",
                      "pool": {"idle_timeout_s": 30}})
for rc in d["route_configs"]:
    if rc["name"] == "main":
        rc["virtual_hosts"][0]["routes"][0:0] = [
            {"name": "h2up", "match": {"prefix": "/h2/"}, "cluster": "shop/h2up",
             "prefix_rewrite": "/"},
            {"name": "h2tls", "match": {"prefix": "/h2tls/"}, "cluster": "shop/h2tls",
             "prefix_rewrite": "/"},
            {"name": "h2cont", "match": {"prefix": "/h2cont/"}, "cluster": "shop/h2cont"},
            {"name": "h1tls", "match": {"prefix": "/h1tls/"}, "cluster": "shop/h1tls",
             "prefix_rewrite": "/"},
            {"name": "h1tls2", "match": {"prefix": "/h1tls2/"}, "cluster": "shop/h1tls2",
             "prefix_rewrite": "/"}]
d["listeners"][0]["http"]["http2"] = {"enabled": True}
print(json.dumps(d))
PY
IT_L4_CONFIG=$IT_WORK/h2up.json

listening() { [ -n "$(ip netns exec "$1" ss -Hltn "sport = :$2")" ]; }
delta() { echo $(($(it_stat "$1") - $2)); }
c1() { it_in_client curl -s -m 20 --http1.1 "$@" || true; }
c2() { it_in_client curl -s -m 20 --http2-prior-knowledge "$@" || true; }

it_http_start
DOC=$IT_WORK/h2doc
mkdir -p "$DOC"
head -c 3000000 /dev/urandom >"$DOC/big.bin"
echo "hello from nghttpd" >"$DOC/index.html"
ip netns exec mdp-b1 nghttpd --no-tls -v -d "$DOC" --no-content-length --echo-upload \
	--trailer "x-trailer: yes" -m 4 8002 >"$IT_WORK/nghttpd.log" 2>&1 &
NGPID=$!
# the same over TLS with the web identity (ALPN h2): the cluster's protocol "auto"
ip netns exec mdp-b1 nghttpd -d "$DOC" --no-content-length --trailer "x-trailer: yes" \
	8443 "$PKI/web.key" "$PKI/web.pem" >"$IT_WORK/nghttpd-tls.log" 2>&1 &
NGPID2=$!
# an HTTP/2 endpoint that answers each request with 100, then 200 and the body's length
ip netns exec mdp-b1 "$IT_PY" "$(dirname "$0")/h2_raw.py" serve100 8003 >"$IT_WORK/serve100.log" 2>&1 &
RAWPID=$!
# nginx with the web identity, HTTP/1.1 only (ALPN http/1.1): the auto clusters h1tls, h1tls2
NGX=$IT_WORK/h1-nginx
it_nginx_conf "$NGX" <<NGINX
	access_log off;
	server {
		listen 8444 ssl;
		ssl_certificate $PKI/web.pem;
		ssl_certificate_key $PKI/web.key;
		keepalive_requests 1000;
		location / { return 200 "h1 \$server_protocol \$ssl_alpn_protocol \$connection \$connection_requests\n"; }
	}
NGINX
ip netns exec mdp-b1 nginx -c "$NGX/nginx.conf"
cleanup()
{
	set +e
	kill $NGPID $NGPID2 $RAWPID 2>/dev/null
	wait $NGPID $NGPID2 $RAWPID 2>/dev/null
	[ -f "$NGX/nginx.pid" ] && kill "$(cat "$NGX/nginx.pid")" 2>/dev/null
	it_l4_cleanup
}
trap cleanup EXIT
it_wait_for "nghttpd listening in mdp-b1" 10 listening mdp-b1 8002
it_wait_for "nghttpd (TLS) listening in mdp-b1" 10 listening mdp-b1 8443
it_wait_for "nginx (TLS, HTTP/1.1) listening in mdp-b1" 10 listening mdp-b1 8444
it_wait_for "the raw HTTP/2 endpoint listening in mdp-b1" 10 listening mdp-b1 8003

it_log "HTTP/1.1 client -> HTTP/2 endpoint: GET, chunked back with the endpoint's trailer"
upc=$(it_stat h2_up_connections)
want=$(sha256sum <"$DOC/big.bin" | cut -d' ' -f1)
got=$(c1 -D "$IT_WORK/h1.hdr" "$PROXY/h2/big.bin" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || it_http_fail "3 MB over an h2 upstream to an HTTP/1.1 client: sha $got, want $want"
grep -q "^HTTP/1.1 200" "$IT_WORK/h1.hdr" || it_http_fail "not a 200: $(cat "$IT_WORK/h1.hdr")"
grep -qi "^transfer-encoding: chunked" "$IT_WORK/h1.hdr" || it_http_fail "not chunked: $(cat "$IT_WORK/h1.hdr")"
grep -qi "^x-trailer: yes" "$IT_WORK/h1.hdr" || it_http_fail "the endpoint's trailer did not reach the HTTP/1.1 client: $(cat "$IT_WORK/h1.hdr")"
[ "$(delta h2_up_connections "$upc")" -eq 1 ] || it_http_fail "h2_up_connections +$(delta h2_up_connections "$upc"), want 1"
out=$(c1 "$PROXY/h2/index.html")
[ "$out" = "hello from nghttpd" ] || it_http_fail "GET /index.html: $out"
[ "$(delta h2_up_connections "$upc")" -eq 1 ] || it_http_fail "a second request opened another upstream connection"

it_log "the client's connection-specific fields stay on its hop (RFC 9113 8.2.2)"
: >"$IT_WORK/nghttpd.log.mark"
n0=$(wc -l <"$IT_WORK/nghttpd.log")
out=$(c1 -H "Connection: x-drop" -H "x-drop: 1" -H "Keep-Alive: timeout=5" -H "TE: gzip" \
	-H "Proxy-Connection: keep-alive" -H "X-Keep: 1" "$PROXY/h2/index.html")
[ "$out" = "hello from nghttpd" ] || it_http_fail "GET with hop-by-hop fields: $out"
seen=$(tail -n +"$((n0 + 1))" "$IT_WORK/nghttpd.log" | grep "recv (stream_id=" || true)
grep -q "x-keep: 1" <<<"$seen" || it_http_fail "an end-to-end field did not reach the endpoint: $seen"
grep -q ":authority: 10.10.1.1:8080" <<<"$seen" || it_http_fail "no :authority from Host: $seen"
grep -q ":path: /index.html" <<<"$seen" || it_http_fail "no rewritten :path: $seen"
grep -qiE "\] (connection|keep-alive|proxy-connection|te|x-drop|transfer-encoding|host):" <<<"$seen" &&
	it_http_fail "a connection-specific field reached the HTTP/2 endpoint: $seen"

it_log "request trailers reach the HTTP/2 endpoint as trailers (an HTTP/2 client's, an HTTP/1.1 chunked body's)"
rt=$(it_stat h2_up_request_trailers)
n0=$(wc -l <"$IT_WORK/nghttpd.log")
out=$(it_in_client "$IT_PY" "$(dirname "$0")/h2_raw.py" reqtrailers 10.10.1.1 8080 /h2/index.html)
[ "$out" = hello ] || it_http_fail "an HTTP/2 POST with trailers, echoed: $out"
out=$(it_in_client "$IT_PY" - <<'PY'
import socket
s = socket.create_connection(("10.10.1.1", 8080), timeout=10)
s.sendall(b"POST /h2/index.html HTTP/1.1\r\nHost: 10.10.1.1\r\nTransfer-Encoding: chunked\r\n"
          b"Connection: close\r\n\r\n5\r\nworld\r\n0\r\nX-H1-Sum: 7\r\nHost: evil\r\n\r\n")
got = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
print(got.split(b"\r\n")[0].decode(), got.count(b"world"))
PY
)
[ "$out" = "HTTP/1.1 200 OK 1" ] || it_http_fail "an HTTP/1.1 chunked POST with a trailer, echoed: $out"
seen=$(tail -n +"$((n0 + 1))" "$IT_WORK/nghttpd.log" | grep "recv (stream_id=" || true)
grep -q "x-sum: 42" <<<"$seen" || it_http_fail "the HTTP/2 client's trailer did not reach the endpoint: $seen"
grep -q "x-h1-sum: 7" <<<"$seen" || it_http_fail "the HTTP/1.1 client's trailer did not reach the endpoint: $seen"
grep -q "host: evil" <<<"$seen" && it_http_fail "a host field in trailers reached the endpoint: $seen"
[ "$(delta h2_up_request_trailers "$rt")" -eq 2 ] || it_http_fail "h2_up_request_trailers +$(delta h2_up_request_trailers "$rt"), want 2"

it_log "uploads through the h2 upstream, echoed (content-length and chunked)"
head -c 1000000 /dev/urandom >"$IT_WORK/up.bin"
want=$(sha256sum <"$IT_WORK/up.bin" | cut -d' ' -f1)
got=$(c1 --data-binary "@$IT_WORK/up.bin" "$PROXY/h2/index.html" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || it_http_fail "HTTP/1.1 upload (content-length): sha $got, want $want"
got=$(it_in_client sh -c "cat '$IT_WORK/up.bin' | curl -s -m 20 --http1.1 -T - -X POST '$PROXY/h2/index.html'" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || it_http_fail "HTTP/1.1 upload (chunked): sha $got, want $want"
got=$(c2 --data-binary "@$IT_WORK/up.bin" "$PROXY/h2/index.html" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || it_http_fail "HTTP/2 upload: sha $got, want $want"

it_log "the endpoint's 100 (a HEADERS of its own) reaches both kinds of clients before the final response"
# Expect: 100-continue; curl would wait 30 s for the 100 before sending the body, past -m 10
for v in --http1.1 --http2-prior-knowledge; do
	out=$(it_in_client curl -sS -v -m 10 $v --expect100-timeout 30 -H "Expect: 100-continue" \
		--data-binary "@$IT_WORK/up.bin" "$PROXY/h2cont/up" 2>&1) || it_http_fail "$v upload with Expect to the raw endpoint: $out"
	grep -q "^< HTTP/[12.]* 100" <<<"$out" || it_http_fail "$v: no 100 from the HTTP/2 endpoint: $(grep '^[<>]' <<<"$out")"
	grep -qx "1000000" <<<"$out" || it_http_fail "$v: the endpoint did not get the whole body: $(tail -3 <<<"$out")"
done

it_log "HTTP/2 client -> HTTP/2 endpoint: the download and its trailer"
want=$(sha256sum <"$DOC/big.bin" | cut -d' ' -f1)
got=$(c2 -D "$IT_WORK/h2.hdr" "$PROXY/h2/big.bin" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || it_http_fail "3 MB over h2 both sides: sha $got, want $want"
grep -q "^HTTP/2 200" "$IT_WORK/h2.hdr" || it_http_fail "not an HTTP/2 200: $(cat "$IT_WORK/h2.hdr")"
grep -qi "^x-trailer: yes" "$IT_WORK/h2.hdr" || it_http_fail "no HTTP/2 trailer: $(cat "$IT_WORK/h2.hdr")"
grep -qiE "^(transfer-encoding|connection):" "$IT_WORK/h2.hdr" && it_http_fail "a connection-specific field in the h2 response: $(cat "$IT_WORK/h2.hdr")"

it_log "multiplexing: h2load 400 requests, 40 streams on one client connection; 10 HTTP/1.1 connections"
ups=$(it_stat h2_up_streams)
upc=$(it_stat h2_up_connections)
out=$(it_in_client h2load -n 400 -c 1 -m 40 "$PROXY/h2/index.html" 2>&1) || it_http_fail "h2load failed: $out"
grep -q "400 succeeded, 0 failed" <<<"$out" || it_http_fail "h2load: $out"
grep -q "status codes: 400 2xx" <<<"$out" || it_http_fail "h2load status codes: $out"
grep -E "^finished in" <<<"$out" | sed 's/^/    h2 clients: /'
[ "$(delta h2_up_streams "$ups")" -eq 400 ] || it_http_fail "h2_up_streams +$(delta h2_up_streams "$ups"), want 400"
nc=$(delta h2_up_connections "$upc")
# 40 requests at once, 4 streams per connection: more connections, far fewer than requests
[ "$nc" -ge 1 ] && [ "$nc" -le 40 ] || it_http_fail "h2_up_connections +$nc for 400 requests"
echo "    400 requests, 40 at once: $nc more upstream connections (4 streams each at most)"
out=$(it_in_client h2load --h1 -n 400 -c 10 "$PROXY/h2/index.html" 2>&1) || it_http_fail "h2load --h1 failed: $out"
grep -q "400 succeeded, 0 failed" <<<"$out" || it_http_fail "h2load --h1: $out"
grep -q "status codes: 400 2xx" <<<"$out" || it_http_fail "h2load --h1 status codes: $out"
grep -E "^finished in" <<<"$out" | sed 's/^/    HTTP\/1.1 clients: /'

it_log "protocol auto with tls: ALPN h2 to the endpoint, its SPIFFE ID checked"
upc=$(it_stat h2_up_connections)
out=$(c1 -D "$IT_WORK/tls.hdr" "$PROXY/h2tls/index.html")
[ "$out" = "hello from nghttpd" ] || it_http_fail "GET over TLS h2: $out $(cat "$IT_WORK/tls.hdr")"
grep -qi "^x-trailer: yes" "$IT_WORK/tls.hdr" || it_http_fail "no trailer over TLS h2: $(cat "$IT_WORK/tls.hdr")"
out=$(c2 "$PROXY/h2tls/index.html")
[ "$out" = "hello from nghttpd" ] || it_http_fail "h2 client, TLS h2 upstream: $out"
[ "$(delta h2_up_connections "$upc")" -eq 1 ] || it_http_fail "h2_up_connections +$(delta h2_up_connections "$upc") for two requests over TLS, want 1"
[ "$(it_stat h2_up_alpn_refused)" -eq 0 ] || it_http_fail "h2_up_alpn_refused"

it_log "the h2tls cluster's tls block rebuilt: its HTTP/2 connection drains within the window, the next request opens one"
dc=$(it_stat http_pool_tls_drain_closed)
upc=$(it_stat h2_up_connections)
"$IT_PY" - "$IT_WORK/h2up.json" >"$IT_WORK/h2up-rot.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for c in d["clusters"]:
    if c["service"] == "shop/h2tls":
        c["tls"]["drain_window_s"] = 1
print(json.dumps(d))
PY
it_ctl config apply "$IT_WORK/h2up-rot.json" >/dev/null
drained() { [ "$(delta http_pool_tls_drain_closed "$dc")" -ge 1 ]; }
it_wait_for "the replaced build's HTTP/2 connection drained" 5 drained
out=$(c1 "$PROXY/h2tls/index.html")
[ "$out" = "hello from nghttpd" ] || it_http_fail "GET over TLS h2 after the rebuild: $out"
[ "$(delta h2_up_connections "$upc")" -eq 1 ] || it_http_fail "h2_up_connections +$(delta h2_up_connections "$upc") after the rebuild, want 1"

it_log "protocol auto with tls, the endpoint chooses ALPN http/1.1: its connection is used as such"
upc=$(it_stat h2_up_connections)
fb=$(it_stat h2_up_alpn_fallback)
reused=$(it_stat http_pool_reused)
out=$(c1 "$PROXY/h1tls/")
# nginx: "h1 PROTOCOL ALPN CONNECTION REQUESTS"
read -r _ proto alpn conn _ <<<"$out"
[ "$proto" = HTTP/1.1 ] && [ "$alpn" = http/1.1 ] || it_http_fail "the first request to the HTTP/1.1 endpoint: $out"
[ "$(delta h2_up_alpn_fallback "$fb")" -eq 1 ] || it_http_fail "h2_up_alpn_fallback +$(delta h2_up_alpn_fallback "$fb"), want 1"
for i in 2 3 4 5; do
	out=$(c2 "$PROXY/h1tls/")
	read -r _ proto alpn c n <<<"$out"
	[ "$proto" = HTTP/1.1 ] && [ "$c" = "$conn" ] && [ "$n" = "$i" ] ||
		it_http_fail "request $i (an HTTP/2 client) did not reuse nginx connection $conn as its request $i: $out"
done
[ "$(delta h2_up_alpn_fallback "$fb")" -eq 1 ] || it_http_fail "later requests probed HTTP/2 again: h2_up_alpn_fallback +$(delta h2_up_alpn_fallback "$fb")"
[ "$(delta http_pool_reused "$reused")" -eq 4 ] || it_http_fail "http_pool_reused +$(delta http_pool_reused "$reused"), want 4"
[ "$(delta h2_up_connections "$upc")" -eq 0 ] || it_http_fail "an HTTP/2 connection counted to an HTTP/1.1 endpoint"
[ "$(it_stat h2_up_alpn_refused)" -eq 0 ] || it_http_fail "h2_up_alpn_refused to an auto cluster"
echo "    1 probe taken as HTTP/1.1 (ALPN $alpn), 4 more requests on nginx connection $conn"
# 20 client connections at once on a cluster not probed yet: the ones that
# waited on the probing connection start again over HTTP/1.1, none fails
rs=$(it_stat h2_up_fallback_restarted)
out=$(it_in_client h2load --h1 -n 200 -c 20 "$PROXY/h1tls2/" 2>&1) || it_http_fail "h2load --h1 to h1tls2 failed: $out"
grep -q "200 succeeded, 0 failed" <<<"$out" || it_http_fail "h2load to an HTTP/1.1 endpoint of an auto cluster: $out"
grep -q "status codes: 200 2xx" <<<"$out" || it_http_fail "h2load status codes: $out"
[ "$(delta h2_up_alpn_fallback "$fb")" -eq 2 ] || it_http_fail "h2_up_alpn_fallback +$(delta h2_up_alpn_fallback "$fb") after the second cluster, want 2"
[ "$(delta h2_up_fallback_restarted "$rs")" -ge 1 ] || it_http_fail "no request waited on the probe of h1tls2 (20 connections at once): h2_up_fallback_restarted +0"
echo "    h2load 200 requests, 20 connections: $(delta h2_up_fallback_restarted "$rs") requests waiting on the probe started again over HTTP/1.1"

it_log "no allocation failure, no refused translation"
[ "$(it_stat http_alloc_failed)" -eq 0 ] || it_http_fail "http_alloc_failed"
[ "$(it_stat h2_up_refused_requests)" -eq 0 ] || it_http_fail "h2_up_refused_requests"
echo "    $(it_ctl stats | grep -E '^h2_up' | grep -v ' 0$' | tr '\n' ' ')"
it_log "PASS"
