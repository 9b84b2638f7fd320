#!/usr/bin/env bash
# HTTP/2 clients (tests/data/http-proxy.json with http.http2 enabled on the
# plaintext listener, and an HTTPS listener beside it whose ALPN offers h2;
# the L4 topology of lib_l4.sh, nginx and http_backend.py as HTTP/1.1
# upstreams): curl --http2-prior-knowledge GET and POST with sha256 checked
# both ways (multi-MB, content-length and chunked upstream bodies, a request
# body of unknown length), response translation (no connection-specific
# fields), curl --http2 over TLS agreeing on h2 by ALPN, h2load with 50
# streams on each of 4 connections (all 2xx, counters matching), local
# replies (direct, redirect, 404) and a 503 after retries over h2, a header
# list over max_header_list_size answered 431, a connection-specific field
# refused by a stream reset, a rapid-reset client, PING, SETTINGS, empty DATA
# and CONTINUATION floods closed with GOAWAY ENHANCE_YOUR_CALM, an HPACK bomb
# (a 4 KB dynamic-table entry referred to 100 times) answered 431, a client keeping
# its stream windows at 0 (or opening one 10 bytes at a time) reset (CANCEL) and one keeping the connection
# window closed closed with GOAWAY after window_stall_timeout_ms, while h2load
# on other connections keeps succeeding, and a graceful GOAWAY when the listener leaves the config while
# a stream is in flight (the stream finishes). Request trailers reach an
# HTTP/1.1 upstream as the chunked trailer section (host dropped from them,
# RFC 9110 6.5.1), and are dropped and counted when the body has a
# content-length. An upstream's 100 Continue reaches an HTTP/2 client.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_l4.sh"
source "$(dirname "$0")/lib_http.sh"
BACKEND=$(dirname "$0")/http_backend.py
RAW=$(dirname "$0")/h2_raw.py
PROXY=$IT_HTTP_PROXY
PKI=$IT_WORK/pki
certs=$IT_ROOT/tools/certs.sh
"$certs" "$PKI" >/dev/null
"$certs" "$PKI" leaf edge spiffe://cluster.local/ns/shop/sa/edge --dns edge.test >/dev/null

# the HTTP listener test's config, with HTTP/2 on and an HTTPS listener (8445)
"$IT_PY" - "$IT_ROOT/tests/data/http-proxy.json" "$IT_ROOT/tests/data/https-proxy.json" "$PKI" >"$IT_WORK/http2.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
tls = json.loads(open(sys.argv[2]).read().replace("@PKI@", sys.argv[3]))
d["secrets"] = tls["secrets"]
for rc in d["route_configs"]:
    if rc["name"] == "main":
        rc["virtual_hosts"][0]["domains"].append("edge.test")
h2 = {"enabled": True, "max_header_list_size": 8192, "max_resets_per_s": 50,
      "max_control_frames_per_s": 200, "window_stall_timeout_ms": 2000}
d["listeners"][0]["http"]["http2"] = h2
d["listeners"].append({"name": "https-h2", "type": "http", "address": "10.10.1.1", "port": 8445,
                       "route_config": "main", "idle_timeout_s": 60,
                       "tls": {"secret": "edge", "mtls": "disable"}, "http": {"http2": h2}})
print(json.dumps(d))
PY
IT_L4_CONFIG=$IT_WORK/http2.json

listening() { [ -n "$(ip netns exec "$1" ss -Hltn "sport = :$2")" ]; }
c2() { it_in_client curl -s -m 20 --http2-prior-knowledge "$@" || true; }
delta() { echo $(($(it_stat "$1") - $2)); }

it_http_start
PIDS=
for b in b1 b2; do
	ip netns exec "mdp-$b" "$IT_PY" "$BACKEND" "$b" 8000 >"$IT_WORK/backend-$b.log" 2>&1 &
	PIDS="$PIDS $!"
done
cleanup()
{
	set +e
	kill $PIDS 2>/dev/null
	it_l4_cleanup
}
trap cleanup EXIT
for b in b1 b2; do
	it_wait_for "http_backend.py listening in mdp-$b" 10 listening "mdp-$b" 8000
done

it_log "h2c with prior knowledge: GET through the proxy to nginx, translated both ways"
h2c=$(it_stat h2_connections)
out=$(c2 -i "$PROXY/")
grep -q "^HTTP/2 200" <<<"$out" || it_http_fail "not an HTTP/2 200: $out"
grep -q "^b[123] 10.10.2.1" <<<"$out" || it_http_fail "GET / over h2: $out"
grep -qi "^x-served-by: meshdp" <<<"$out" || it_http_fail "the virtual host's response edit is missing: $out"
grep -qiE "^(connection|keep-alive|transfer-encoding):" <<<"$out" && it_http_fail "a connection-specific field in an HTTP/2 response: $out"
[ "$(delta h2_connections "$h2c")" -eq 1 ] || it_http_fail "h2_connections +$(delta h2_connections "$h2c"), want 1"
# what the upstream saw: HTTP/1.1 with Host from :authority and x-forwarded-for
out=$(c2 "$PROXY/app/headers")
grep -q "^GET /headers HTTP/1.1" <<<"$out" || it_http_fail "the upstream did not get HTTP/1.1: $out"
grep -qi "^host: 10.10.1.1:8080" <<<"$out" || it_http_fail "no Host from :authority: $out"
grep -qi "^x-forwarded-for: 10.10.1.2" <<<"$out" || it_http_fail "no x-forwarded-for: $out"
# cookie crumbs go up as one Cookie field (RFC 9113 8.2.3)
out=$(it_in_client "$IT_PY" "$RAW" cookies 10.10.1.1 8080 /app/headers)
grep -qi "^cookie: a=1; b=2"$'\r'"\?$" <<<"$out" || it_http_fail "cookie crumbs not joined: $out"
[ "$(grep -ci "^cookie:" <<<"$out")" -eq 1 ] || it_http_fail "more than one Cookie field: $out"

it_log "Upgrade: h2c (curl --http2 on http://): 101, then the response on stream 1, more streams after"
up=$(it_stat h2_upgrades)
out=$(it_in_client curl -sS -m 10 --http2 -v "$PROXY/app/headers" "$PROXY/direct" 2>&1) || it_http_fail "curl --http2 (upgrade) failed: $out"
grep -q "^< HTTP/1.1 101" <<<"$out" || it_http_fail "no 101 to Upgrade: h2c: $out"
[ "$(grep -c "^< HTTP/2 200" <<<"$out")" -eq 2 ] || it_http_fail "not two HTTP/2 200s after the upgrade: $out"
grep -q "^GET /headers HTTP/1.1" <<<"$out" || it_http_fail "stream 1 did not reach the upstream: $out"
grep -qi "^upgrade:\|^http2-settings:" <<<"$out" && it_http_fail "the upgrade went up: $out"
grep -q "^hello from meshdp" <<<"$out" || it_http_fail "the second stream after the upgrade: $out"
[ "$(delta h2_upgrades "$up")" -eq 1 ] || it_http_fail "h2_upgrades +$(delta h2_upgrades "$up"), want 1"

it_log "bodies both ways over h2, sha256 checked (multi-MB; content-length, chunked, unknown length)"
head -c 3000000 /dev/urandom >"$IT_WORK/up.bin"
want=$(sha256sum <"$IT_WORK/up.bin" | cut -d' ' -f1)
got=$(c2 --data-binary "@$IT_WORK/up.bin" -H "content-type: application/octet-stream" "$PROXY/app/sha")
[ "$got" = "$want" ] || it_http_fail "upload (content-length) over h2: sha $got, want $want"
# no content-length: DATA frames until END_STREAM, chunked to the upstream
got=$(it_in_client sh -c "cat '$IT_WORK/up.bin' | curl -s -m 20 --http2-prior-knowledge -T - -X POST '$PROXY/app/sha'" || true)
[ "$got" = "$want" ] || it_http_fail "upload (unknown length) over h2: sha $got, want $want"
# Expect: 100-continue: the upstream's 100 comes back as a HEADERS of its own
# (curl would wait 30 s for it, past -m 10)
out=$(it_in_client curl -sS -v -m 10 --http2-prior-knowledge --expect100-timeout 30 -H "Expect: 100-continue" \
	--data-binary "@$IT_WORK/up.bin" "$PROXY/app/sha" 2>&1) || it_http_fail "upload with Expect: 100-continue over h2: $out"
grep -q "^< HTTP/2 100" <<<"$out" || it_http_fail "no 100 Continue to the HTTP/2 client: $(grep '^[<>]' <<<"$out")"
grep -qx "$want" <<<"$out" || it_http_fail "upload with Expect: 100-continue over h2: sha, want $want: $(grep '^[<>]' <<<"$out")"
want=$("$IT_PY" -c 'import random,hashlib; print(hashlib.sha256(random.Random(12345).randbytes(5000000)).hexdigest())')
got=$(c2 "$PROXY/app/blob?n=5000000" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || it_http_fail "download (content-length) over h2: sha $got, want $want"
got=$(c2 "$PROXY/app/blob?n=5000000&chunked=1" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || it_http_fail "download (chunked upstream) over h2: sha $got, want $want"

it_log "h2 over TLS: ALPN offers h2, curl --http2 agrees"
out=$(it_in_client curl -sS -m 10 --http2 -v --resolve "edge.test:8445:10.10.1.1" --cacert "$PKI/ca.pem" "https://edge.test:8445/" 2>&1) ||
	it_http_fail "curl --http2 over TLS failed: $out"
grep -q "ALPN: server accepted h2\|ALPN, server accepted to use h2" <<<"$out" || it_http_fail "ALPN did not agree h2: $out"
grep -q "^< HTTP/2 200" <<<"$out" || it_http_fail "no HTTP/2 200 over TLS: $out"
grep -q "^b[123] 10.10.2.1" <<<"$out" || it_http_fail "GET over TLS h2: $out"
out=$(it_in_client curl -sS -m 10 --http1.1 -v --resolve "edge.test:8445:10.10.1.1" --cacert "$PKI/ca.pem" "https://edge.test:8445/" 2>&1) ||
	it_http_fail "curl --http1.1 on the h2 TLS listener failed: $out"
grep -q "^< HTTP/1.1 200" <<<"$out" || it_http_fail "HTTP/1.1 over the same TLS listener: $out"
want=$(sha256sum <"$IT_WORK/up.bin" | cut -d' ' -f1)
got=$(it_in_client curl -s -m 20 --http2 --resolve "edge.test:8445:10.10.1.1" --cacert "$PKI/ca.pem" --data-binary "@$IT_WORK/up.bin" "https://edge.test:8445/app/sha" || true)
[ "$got" = "$want" ] || it_http_fail "upload over TLS h2: sha $got, want $want"

it_log "request trailers: to an HTTP/1.1 upstream in the chunked body; dropped (counted) with a content-length"
rt=$(it_stat h2_request_trailers)
rtd=$(it_stat h2_request_trailers_dropped)
hello=$(printf hello | sha256sum | cut -d' ' -f1)
out=$(it_in_client "$IT_PY" "$RAW" reqtrailers 10.10.1.1 8080 /app/trailers)
[ "$out" = "$hello
x-sum: 42" ] || it_http_fail "request trailers over h2 to an HTTP/1.1 upstream (chunked): $out"
out=$(it_in_client "$IT_PY" "$RAW" reqtrailers 10.10.1.1 8080 /app/trailers 5)
[ "$out" = "$hello
none" ] || it_http_fail "request trailers with content-length: $out"
[ "$(delta h2_request_trailers "$rt")" -eq 1 ] || it_http_fail "h2_request_trailers +$(delta h2_request_trailers "$rt"), want 1"
[ "$(delta h2_request_trailers_dropped "$rtd")" -eq 1 ] || it_http_fail "h2_request_trailers_dropped +$(delta h2_request_trailers_dropped "$rtd"), want 1"

it_log "local replies and a 503 over h2"
[ "$(c2 "$PROXY/direct")" = "hello from meshdp" ] || it_http_fail "direct response over h2"
out=$(c2 -o /dev/null -w "%{http_version} %{http_code} %{redirect_url}" "$PROXY/old")
[ "$out" = "2 301 http://10.10.1.1:8080/new" ] || it_http_fail "redirect over h2: $out"
out=$(c2 -o /dev/null -w "%{http_version} %{http_code}" -H "host: nowhere.example" "$PROXY/")
[ "$out" = "2 404" ] || it_http_fail "no route over h2: $out"
out=$(c2 -w " %{http_code}" "$PROXY/fail?key=h2a&n=2")
[ "$out" = "ok h2a after 2
 200" ] || it_http_fail "retries over h2: $out"
out=$(c2 -o /dev/null -w "%{http_code}" "$PROXY/fail?key=h2b&n=9")
[ "$out" = 503 ] || it_http_fail "a backend failing more often than the retries, over h2: $out"

it_log "many streams on few connections: h2load -n 2000 -c 4 -m 50"
req=$(it_stat http_requests)
st=$(it_stat h2_streams)
r2=$(it_stat http_responses_2xx)
out=$(it_in_client h2load -n 2000 -c 4 -m 50 "$PROXY/" 2>&1) || it_http_fail "h2load failed: $out"
grep -q "requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored" <<<"$out" || it_http_fail "h2load: $out"
grep -q "status codes: 2000 2xx" <<<"$out" || it_http_fail "h2load status codes: $out"
grep -E "^finished in|^requests:|^status codes:" <<<"$out" | sed 's/^/    /'
[ "$(delta h2_streams "$st")" -eq 2000 ] || it_http_fail "h2_streams +$(delta h2_streams "$st"), want 2000"
[ "$(delta http_requests "$req")" -eq 2000 ] || it_http_fail "http_requests +$(delta http_requests "$req"), want 2000"
[ "$(delta http_responses_2xx "$r2")" -eq 2000 ] || it_http_fail "http_responses_2xx +$(delta http_responses_2xx "$r2"), want 2000"

it_log "a header list over max_header_list_size (8192) is answered 431"
big=$(head -c 12000 /dev/zero | tr '\0' a)
tl=$(it_stat h2_headers_too_large)
out=$(c2 -o /dev/null -w "%{http_code}" -H "x-big: $big" "$PROXY/")
[ "$out" = 431 ] || it_http_fail "a 12 KB header over h2: $out"
[ "$(delta h2_headers_too_large "$tl")" -eq 1 ] || it_http_fail "h2_headers_too_large not counted"
out=$(c2 -o /dev/null -w "%{http_code}" -H "x-small: ${big:0:2000}" "$PROXY/")
[ "$out" = 200 ] || it_http_fail "a 2 KB header over h2: $out"

it_log "a connection-specific field in a request resets its stream (RFC 9113 8.2.2)"
se=$(it_stat h2_stream_errors)
out=$(it_in_client "$IT_PY" "$RAW" connhdr 10.10.1.1 8080)
[ "$out" = "rst 1" ] || it_http_fail "connection: keep-alive in an h2 request: $out"
[ "$(delta h2_stream_errors "$se")" -ge 1 ] || it_http_fail "h2_stream_errors not counted"

it_log "floods beside h2load: rapid reset (CVE-2023-44487), PING, SETTINGS, empty DATA and CONTINUATION floods closed with GOAWAY ENHANCE_YOUR_CALM, an HPACK bomb answered 431, window starvation reset or closed"
rr=$(it_stat h2_rapid_reset_closed)
cf=$(it_stat h2_control_flood_closed)
cn=$(it_stat h2_continuation_flood_closed)
ef=$(it_stat h2_empty_data_flood_closed)
htl=$(it_stat h2_headers_too_large)
ws=$(it_stat h2_window_stall_resets)
wc=$(it_stat h2_window_stall_closed)
# the starving clients hold their streams (exchanges, upstream connections,
# buffered bytes) while h2load runs, until window_stall_timeout_ms (2 s)
it_in_client "$IT_PY" "$RAW" starve 10.10.1.1 8080 "/app/blob?n=300000" 20 >"$IT_WORK/starve.out" 2>&1 &
spid=$!
it_in_client "$IT_PY" "$RAW" connstarve 10.10.1.1 8080 "/app/blob?n=300000" >"$IT_WORK/connstarve.out" 2>&1 &
cspid=$!
# a window opened 10 bytes every 0.25 s is still closed
it_in_client "$IT_PY" "$RAW" trickle 10.10.1.1 8080 "/app/blob?n=300000" >"$IT_WORK/trickle.out" 2>&1 &
tpid=$!
t0=$(date +%s%N)
it_in_client h2load -n 4000 -c 2 -m 20 "$PROXY/" >"$IT_WORK/h2load-bg.log" 2>&1 &
hpid=$!
# each flood (h2_raw.py MODE and its count) ends in GOAWAY ENHANCE_YOUR_CALM (11)
for flood in "rapid 1000" "pings 2000" "continuation 10000" "settings 2000" "emptydata 2000"; do
	out=$(it_in_client "$IT_PY" "$RAW" ${flood% *} 10.10.1.1 8080 ${flood#* })
	[ "$out" = "goaway 11" ] || it_http_fail "the ${flood% *} flood: $out"
done
# an HPACK bomb: 4 KB sent, 400 KB of header list decoded: 431, the connection stays
out=$(it_in_client "$IT_PY" "$RAW" hpackbomb 10.10.1.1 8080 100)
[ "$out" = "headers" ] || it_http_fail "HPACK bomb: $out, want its stream answered (431)"
ms() { echo $((($(date +%s%N) - t0) / 1000000)); }
echo "    the crafted clients done after $(ms) ms"
wait $hpid || it_http_fail "h2load beside the floods failed: $(cat "$IT_WORK/h2load-bg.log")"
grep -q "4000 succeeded, 0 failed" "$IT_WORK/h2load-bg.log" || it_http_fail "h2load beside the floods: $(cat "$IT_WORK/h2load-bg.log")"
wait $spid || it_http_fail "the stream-window starver failed: $(cat "$IT_WORK/starve.out")"
echo "    stream-window starver cut after $(ms) ms"
[ "$(cat "$IT_WORK/starve.out")" = "rst 8 20" ] || it_http_fail "stream-window starvation: $(cat "$IT_WORK/starve.out"), want all 20 streams reset CANCEL"
wait $cspid || it_http_fail "the connection-window starver failed: $(cat "$IT_WORK/connstarve.out")"
[ "$(cat "$IT_WORK/connstarve.out")" = "goaway 11" ] || it_http_fail "connection-window starvation: $(cat "$IT_WORK/connstarve.out")"
wait $tpid || it_http_fail "the trickling client failed: $(cat "$IT_WORK/trickle.out")"
tms=$(ms)
echo "    trickling client cut after $tms ms"
# the limit is 2 s from the first check that saw the window small: well within 10 s
[ "$tms" -lt 10000 ] || it_http_fail "the trickling client was cut after $tms ms, want the 2 s stall limit (and slack)"
[ "$(cat "$IT_WORK/trickle.out")" = "rst 8" ] || it_http_fail "a window opened 10 bytes at a time: $(cat "$IT_WORK/trickle.out"), want its stream reset CANCEL"
echo "    starvers cut after $((($(date +%s%N) - t0) / 1000000)) ms (limit 2000 ms); h2load: $(grep -E '^finished in' "$IT_WORK/h2load-bg.log")"
[ "$(delta h2_rapid_reset_closed "$rr")" -eq 1 ] || it_http_fail "h2_rapid_reset_closed +$(delta h2_rapid_reset_closed "$rr"), want 1"
[ "$(delta h2_control_flood_closed "$cf")" -eq 2 ] || it_http_fail "h2_control_flood_closed +$(delta h2_control_flood_closed "$cf"), want 2 (the PING and the SETTINGS flood)"
[ "$(delta h2_continuation_flood_closed "$cn")" -eq 1 ] || it_http_fail "h2_continuation_flood_closed +$(delta h2_continuation_flood_closed "$cn"), want 1"
[ "$(delta h2_empty_data_flood_closed "$ef")" -eq 1 ] || it_http_fail "h2_empty_data_flood_closed +$(delta h2_empty_data_flood_closed "$ef"), want 1"
[ "$(delta h2_headers_too_large "$htl")" -eq 1 ] || it_http_fail "h2_headers_too_large +$(delta h2_headers_too_large "$htl"), want 1"
[ "$(delta h2_window_stall_resets "$ws")" -eq 21 ] || it_http_fail "h2_window_stall_resets +$(delta h2_window_stall_resets "$ws"), want 21"
[ "$(delta h2_window_stall_closed "$wc")" -eq 1 ] || it_http_fail "h2_window_stall_closed +$(delta h2_window_stall_closed "$wc"), want 1"

it_log "the listener leaves the config during a slow stream: GOAWAY, the stream finishes"
counter_gt() { [ "$(it_stat "$1")" -gt "$2" ]; }
gd=$(it_stat h2_goaway_drain)
up=$(it_stat http_upstream_rq)
it_in_client curl -s -m 20 --http2-prior-knowledge -o "$IT_WORK/slow.out" -w "%{http_code}" "$PROXY/fail?key=drain&n=0&ms=2500" >"$IT_WORK/slow.code" &
cpid=$!
it_wait_for "the slow request in flight" 10 counter_gt http_upstream_rq "$up"
"$IT_PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
d["listeners"] = [l for l in d["listeners"] if l["name"] != "http"]
json.dump(d, open(sys.argv[2], "w"))' "$IT_WORK/http2.json" "$IT_WORK/http2-nolistener.json"
it_ctl config apply "$IT_WORK/http2-nolistener.json" >/dev/null || it_http_fail "config apply without the listener"
it_wait_for "a GOAWAY for the drained connection" 10 counter_gt h2_goaway_drain "$gd"
wait $cpid || it_http_fail "curl of the stream in flight at the drain failed (exit $?)"
[ "$(cat "$IT_WORK/slow.code")" = 200 ] || it_http_fail "the stream in flight at the drain: $(cat "$IT_WORK/slow.code")"
[ "$(cat "$IT_WORK/slow.out")" = "ok drain after 0" ] || it_http_fail "the drained stream's body: $(cat "$IT_WORK/slow.out")"
out=$(c2 -m 3 -o /dev/null -w "%{http_code}" "$PROXY/")
[ "$out" = 000 ] || it_http_fail "the removed listener still answers: $out"

it_log "no drop nor allocation failure"
[ "$(it_stat http_alloc_failed)" -eq 0 ] || it_http_fail "http_alloc_failed"
echo "    $(it_ctl stats | grep -E '^h2_' | grep -v ' 0$' | tr '\n' ' ')"
it_log "PASS"
