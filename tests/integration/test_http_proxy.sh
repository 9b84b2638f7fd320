#!/usr/bin/env bash
# HTTP listeners (tests/data/http-proxy.json, the L4 topology of lib_l4.sh):
# nginx backends answer their name on port 80, http_backend.py on port 8000 of
# b1 and b2 serves bodies, failures and delays. curl GET and POST through the
# proxy with sha256 checked both ways (content-length and chunked), keep-alive
# reuse of upstream connections, wrk with zero errors, a 90/10 weighted split,
# a direct response, a redirect, a 404, a smuggling attempt refused with 400
# while another connection is served, retries hiding a failing backend, a
# slow backend cut by the per-try timeout (the retry goes to the other host),
# a dead endpoint ejected, the policy refusing a client (403), pipelining,
# Upgrade, CONNECT refused, fault injection, the route timeout, the cluster's
# max_requests, route swaps during a wrk run, HTTP/1.0 clients (1.0 framing,
# keep-alive only when asked).
#
# IT_HTTP_BYTES (default 200 MB): bytes each way of the large transfer.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_l4.sh"
source "$(dirname "$0")/lib_http.sh"
BACKEND=$(dirname "$0")/http_backend.py
PROXY=$IT_HTTP_PROXY
BYTES=${IT_HTTP_BYTES:-200000000}

listening() { [ -n "$(ip netns exec "$1" ss -Hltn "sport = :$2")" ]; }
c() { it_in_client curl -s -m 10 "$@" || true; }

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

it_log "GET through the http listener: nginx answers, the response edit is applied"
out=$(c -i "$PROXY/")
grep -q "^b[123] 10.10.2.1" <<<"$out" || it_http_fail "GET / through the proxy: $out"
grep -qi "^x-served-by: meshdp" <<<"$out" || it_http_fail "the virtual host's response header is missing: $out"
out=$(c "$PROXY/app/name")
grep -q "^b[12] 10.10.2.1 10.10.1.2$" <<<"$out" || it_http_fail "x-forwarded-for not the client: $out"
out=$(c "$PROXY/app/headers")
grep -qi "^x-route: app" <<<"$out" || it_http_fail "the route's request header is missing: $out"
grep -qi "^x-request-id: [0-9a-f-]\{36\}" <<<"$out" || it_http_fail "no x-request-id: $out"
# a version 4 UUID (RFC 9562 5.4): 8-4-4-4-12 lower-case hex, version 4, variant 10;
# and a new one per request
uuid4='^x-request-id: [0-9a-f]\{8\}-[0-9a-f]\{4\}-4[0-9a-f]\{3\}-[89ab][0-9a-f]\{3\}-[0-9a-f]\{12\}'$'\r''\?$'
rid1=$(grep -i "^x-request-id:" <<<"$out")
grep -q "$uuid4" <<<"$rid1" || it_http_fail "x-request-id is not a version 4 UUID: $rid1"
rid2=$(c "$PROXY/app/headers" | grep -i "^x-request-id:")
grep -q "$uuid4" <<<"$rid2" || it_http_fail "x-request-id is not a version 4 UUID: $rid2"
[ "$rid1" != "$rid2" ] || it_http_fail "two requests, one x-request-id: $rid1"
grep -q "^GET /headers HTTP/1.1" <<<"$out" || it_http_fail "prefix_rewrite: $out"

it_log "bodies both ways, sha256 checked (content-length and chunked)"
head -c 3000000 /dev/urandom >"$IT_WORK/up.bin"
want=$(sha256sum <"$IT_WORK/up.bin" | cut -d' ' -f1)
got=$(c --data-binary "@$IT_WORK/up.bin" -H "content-type: application/octet-stream" "$PROXY/app/sha")
[ -n "${IT_DEBUG:-}" ] && { c -v --data-binary "@$IT_WORK/up.bin" "$PROXY/app/sha" 2>&1 | grep -v "^{" | head -30; it_http_diag; it_ctl --json tcp conns | head -60; }
[ "$got" = "$want" ] || it_http_fail "upload (content-length): sha $got, want $want"
got=$(c --data-binary "@$IT_WORK/up.bin" -H "transfer-encoding: chunked" "$PROXY/app/sha")
[ "$got" = "$want" ] || it_http_fail "upload (chunked): sha $got, want $want"
want=$("$IT_PY" -c 'import random,hashlib; print(hashlib.sha256(random.Random(12345).randbytes(5000000)).hexdigest())')
got=$(c "$PROXY/app/blob?n=5000000" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || it_http_fail "download (content-length): sha $got, want $want"
got=$(c "$PROXY/app/blob?n=5000000&chunked=1" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || it_http_fail "download (chunked): sha $got, want $want"

it_log "$BYTES bytes each way, sha256 checked end to end (upload streamed with content-length, download streamed)"
head -c "$BYTES" /dev/urandom >"$IT_WORK/big.bin"
want=$(sha256sum <"$IT_WORK/big.bin" | cut -d' ' -f1)
t0=$(date +%s.%N)
got=$(it_in_client curl -s -m 300 -T "$IT_WORK/big.bin" -X POST "$PROXY/app/sha" || true)
t1=$(date +%s.%N)
[ "$got" = "$want" ] || it_http_fail "large upload: sha $got, want $want"
rm -f "$IT_WORK/big.bin"
want=$("$IT_PY" "$BACKEND" --stream-sha "$BYTES")
got=$(it_in_client curl -s -m 300 "$PROXY/app/stream?n=$BYTES" | sha256sum | cut -d' ' -f1)
t2=$(date +%s.%N)
[ "$got" = "$want" ] || it_http_fail "large download: sha $got, want $want"
echo "    up in $(echo "$t1 - $t0" | bc) s, down in $(echo "$t2 - $t1" | bc) s (with the checksum on this side)"

it_log "keep-alive: requests on one client connection reuse pooled upstream connections"
reused=$(it_stat http_pool_reused)
n=$(c "$PROXY/[1-30]" | grep -c "^b[123] ")
[ "$n" -eq 30 ] || it_http_fail "30 requests on one connection: $n answers"
[ $(($(it_stat http_pool_reused) - reused)) -ge 20 ] || it_http_fail "the pool was not reused: $(($(it_stat http_pool_reused) - reused))"
echo "    pool reused +$(($(it_stat http_pool_reused) - reused)), connects $(it_stat http_pool_connects)"

it_log "direct response, redirect, no route"
[ "$(c "$PROXY/direct")" = "hello from meshdp" ] || it_http_fail "direct response"
out=$(c -o /dev/null -w "%{http_code} %{redirect_url}" "$PROXY/old")
[ "$out" = "301 http://10.10.1.1:8080/new" ] || it_http_fail "redirect: $out"
out=$(c -o /dev/null -w "%{http_code}" -H "host: nowhere.example" "$PROXY/")
[ "$out" = 404 ] || it_http_fail "no route: $out"
[ "$(it_stat http_no_route)" -ge 1 ] || it_http_fail "http_no_route not counted"

it_log "HTTP/1.0 clients: a chunked response comes as its data until close; keep-alive only when asked"
want=$("$IT_PY" -c 'import random,hashlib; print(hashlib.sha256(random.Random(12345).randbytes(300000)).hexdigest())')
out=$(it_in_client "$IT_PY" - "$want" <<'PY'
import hashlib, socket, sys
def fetch(req):
    s = socket.create_connection(("10.10.1.1", 8080), timeout=5)
    s.sendall(req)
    data = b""
    while True:  # until the proxy closes: the response is close-delimited
        d = s.recv(65536)
        if not d:
            break
        data += d
    head, _, body = data.partition(b"\r\n\r\n")
    return head.decode().lower().split("\r\n"), body
for ka in (b"", b"connection: keep-alive\r\n"):
    head, body = fetch(b"GET /app/blob?n=300000&chunked=1 HTTP/1.0\r\nhost: shop.example\r\n" + ka + b"\r\n")
    assert head[0].startswith("http/1.1 200"), head
    assert not any(h.startswith("transfer-encoding") for h in head), head
    assert not any(h.startswith("content-length") for h in head), head
    assert "connection: close" in head, head
    assert hashlib.sha256(body).hexdigest() == sys.argv[1], (len(body), body[:40])
# the request went up as HTTP/1.1 with the client's Host, without its Connection
head, body = fetch(b"GET /app/headers HTTP/1.0\r\nhost: shop.example\r\nconnection: close\r\n\r\n")
up = body.decode().lower()
assert up.split("\n")[0].strip() == "get /headers http/1.1", up
assert "host: shop.example" in up and "connection:" not in up, up
# no Host (no virtual host matches): the proxy's own 404, with its length, then close
head, body = fetch(b"GET / HTTP/1.0\r\n\r\n")
assert head[0] == "http/1.1 404 not found" and "connection: close" in head, head
assert "content-length: %d" % len(body) in head, (head, body)
print("ok")
PY
)
[ "$out" = ok ] || it_http_fail "HTTP/1.0 with a chunked response: $out"
out=$(c --http1.0 -i -H "connection: keep-alive" -w "connects %{num_connects}\n" "$PROXY/direct" "$PROXY/direct")
[ "$(grep -c "^hello from meshdp" <<<"$out")" -eq 2 ] && [ "$(grep -ci "^connection: keep-alive" <<<"$out")" -eq 2 ] &&
	[ "$(grep -c "^connects 0" <<<"$out")" -eq 1 ] || it_http_fail "curl --http1.0 keep-alive, direct responses: $out"
# curl --http1.0: two requests on one connection only with keep-alive, said in the response
out=$(c --http1.0 -i -H "connection: keep-alive" -w "connects %{num_connects}\n" "$PROXY/app/name" "$PROXY/app/name")
[ "$(grep -c "^b[12] " <<<"$out")" -eq 2 ] || it_http_fail "curl --http1.0 keep-alive: $out"
[ "$(grep -ci "^connection: keep-alive" <<<"$out")" -eq 2 ] || it_http_fail "the responses do not say keep-alive: $out"
[ "$(grep -c "^connects 1" <<<"$out")" -eq 1 ] && [ "$(grep -c "^connects 0" <<<"$out")" -eq 1 ] || it_http_fail "not one connection for both: $out"
grep -qi "^transfer-encoding" <<<"$out" && it_http_fail "chunked to an HTTP/1.0 client: $out"
out=$(c --http1.0 -i -w "connects %{num_connects}\n" "$PROXY/app/name" "$PROXY/app/name")
[ "$(grep -c "^connects 1" <<<"$out")" -eq 2 ] || it_http_fail "curl --http1.0 without keep-alive kept the connection: $out"
[ "$(grep -ci "^connection: close" <<<"$out")" -eq 2 ] || it_http_fail "the responses do not say close: $out"
got=$(c --http1.0 "$PROXY/app/blob?n=300000&chunked=1" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || it_http_fail "curl --http1.0, chunked download: sha $got, want $want"

it_log "a smuggling attempt (Content-Length with Transfer-Encoding) gets 400 and its counter; another connection is served"
before=$(it_stat http_cl_and_te)
out=$(it_in_client "$IT_PY" - <<'PY'
import socket
s = socket.create_connection(("10.10.1.1", 8080), timeout=5)
s.sendall(b"POST /app/sha HTTP/1.1\r\nhost: shop.example\r\ncontent-length: 5\r\n"
          b"transfer-encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nhost: shop.example\r\n\r\n")
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
print(data.decode(errors="replace").splitlines()[0], data.count(b"HTTP/1.1"))
PY
)
[ "$out" = "HTTP/1.1 400 Bad Request 1" ] || it_http_fail "CL + TE: $out"
[ "$(it_stat http_cl_and_te)" -eq $((before + 1)) ] || it_http_fail "http_cl_and_te not counted"
c "$PROXY/app/name" | grep -q "^b[12] " || it_http_fail "a good request after the refused one"

it_log "wrk for 5 s: no errors, every response 2xx"
out=$(it_in_client wrk -t 2 -c 32 -d 5s "$PROXY/" 2>&1)
echo "$out" | sed 's/^/    /'
grep -q "Socket errors" <<<"$out" && it_http_fail "wrk saw socket errors"
grep -q "Non-2xx" <<<"$out" && it_http_fail "wrk saw non-2xx responses"
grep -q "Requests/sec" <<<"$out" || it_http_fail "wrk did not run"

# (tcp_tools.py hold sends "Host: x", a domain of the virtual host; the web
# service's breaker admits 30,000 requests per endpoint: with the
# default 1,024 / 128 pending the excess would be answered 503 UO, as it should;
# its health checks and ejection are lenient, as 20,000 connections on this
# 2-core machine delay the probes and some connects)
it_log "10,000 keep-alive client connections held at once, each answered twice"
cx=$(it_stat http_downstream_cx)
rq=$(it_stat http_responses_2xx)
out=$(ip netns exec "$IT_NS_C" bash -c "ulimit -n \$(ulimit -Hn) && exec $IT_PY $(dirname "$0")/tcp_tools.py hold 10.10.1.1 8080 10000 5")
echo "    $out; client connections +$(($(it_stat http_downstream_cx) - cx)), 2xx +$(($(it_stat http_responses_2xx) - rq)), upstream connects $(it_stat http_pool_connects)"
[ "$out" = '{"answered": 10000, "held": 10000, "failed": 0}' ] || it_http_fail "10,000 keep-alive connections: $out"
[ $(($(it_stat http_downstream_cx) - cx)) -eq 10000 ] || it_http_fail "not 10,000 client connections"
[ $(($(it_stat http_responses_2xx) - rq)) -eq 20000 ] || it_http_fail "not 20,000 answers"

it_log "a weighted split 90/10 over 1,000 requests"
out=$(c "$PROXY/split?[1-1000]" | cut -d' ' -f1 | sort | uniq -c | tr '\n' ' ')
echo "    $out"
"$IT_PY" - "$out" <<'PY' || it_http_fail "split not 90/10 within 4 standard deviations: $out"
import math, sys
f = sys.argv[1].split()
n = {f[i + 1]: int(f[i]) for i in range(0, len(f), 2)}
total = sum(n.values())
p = 0.1
tol = 4 * math.sqrt(p * (1 - p) / total)
assert total == 1000 and set(n) <= {"b1", "b2"}, n
assert abs(n.get("b2", 0) / total - p) < tol, (n, tol)
PY

it_log "retries hide a backend failing its first 2 requests"
retries=$(it_stat http_upstream_rq_retry)
out=$(c -w " %{http_code}" "$PROXY/fail?key=a&n=2")
[ "$out" = "ok a after 2
 200" ] || it_http_fail "failing backend: $out"
[ $(($(it_stat http_upstream_rq_retry) - retries)) -eq 2 ] || it_http_fail "retries: $(($(it_stat http_upstream_rq_retry) - retries)), want 2"
out=$(c -w " %{http_code}" "$PROXY/fail?key=b&n=9")
[ "${out##* }" = 503 ] || it_http_fail "a backend failing more often than the retries: $out"

it_log "the retry budget (1 retry at once) caps a storm: 5 failing at once, 1 retried"
before=$(it_stat http_upstream_rq_retry_overflow)
bpids=
for i in 1 2 3 4 5; do
	c -o /dev/null -w "%{http_code}\n" "http://10.10.1.1:8081/fail?key=budget$i&n=1&ms=800" >"$IT_WORK/budget.$i" &
	bpids="$bpids $!"
done
wait $bpids
codes=$(cat "$IT_WORK"/budget.* | sort | tr '\n' ' ')
echo "    $codes"
[ "$codes" = "200 503 503 503 503 " ] || it_http_fail "retry budget: $codes"
[ $(($(it_stat http_upstream_rq_retry_overflow) - before)) -eq 4 ] || it_http_fail "retry overflows: $(($(it_stat http_upstream_rq_retry_overflow) - before)), want 4"

it_log "a backend closing without an answer: retried on reset, else 503 UC"
out=$(c -w " %{http_code}" "$PROXY/drop?key=a&n=2")
[ "$out" = "ok a after 2
 200" ] || it_http_fail "dropping backend: $out"
uc=$(it_stat http_rf_uc)
out=$(c -w " %{http_code}" "$PROXY/drop?key=b&n=5")
[ "${out##* }" = 503 ] || it_http_fail "a backend dropping more often than the retries: $out"
[ "$(it_stat http_rf_uc)" -eq $((uc + 1)) ] || it_http_fail "flag UC not counted"

it_log "a slow backend: the per-try timeout ends the try, the retry goes to the other host"
timeouts=$(it_stat http_upstream_rq_retry)
for i in 1 2 3 4; do
	out=$(c -w " %{http_code}" "$PROXY/slow?on=b1&ms=3000")
	[ "$out" = "b2
 200" ] || it_http_fail "slow backend, request $i: $out"
done
[ "$(it_stat http_upstream_rq_retry)" -ge $((timeouts + 2)) ] || it_http_fail "no retry after the per-try timeouts"

it_log "a dead endpoint (nothing listens): connect failures are retried, then it is ejected"
for i in $(seq 1 10); do
	out=$(c -w " %{http_code}" "$PROXY/mixed/name")
	grep -q "^b1 .* 200$" <<<"$(echo $out)" || it_http_fail "mixed, request $i: $out"
done
it_endpoints_are shop/mixed 10.10.2.13 'e["breaker"] == "ejected"' || it_http_fail "the dead endpoint is not ejected: $(it_ctl endpoints --service shop/mixed)"

it_log "the policy refuses a client no policy allows (403)"
out=$(it_in_client curl -s -m 5 --interface 10.10.1.3 -o /dev/null -w "%{http_code}" "$PROXY/")
[ "$out" = 403 ] || it_http_fail "rogue client: $out"

it_log "pipelined requests on one connection are answered in order"
out=$(it_in_client "$IT_PY" - <<'PY'
import socket
s = socket.create_connection(("10.10.1.1", 8080), timeout=5)
req = b"GET %s HTTP/1.1\r\nhost: shop.example\r\n%s\r\n"
s.sendall(req % (b"/app/name", b"") + req % (b"/direct", b"") + req % (b"/app/name", b"connection: close\r\n"))
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
bodies = [p.split(b"\r\n\r\n", 1)[1].split(b" ")[0].strip() for p in data.split(b"HTTP/1.1 200 OK")[1:]]
print(b" ".join(bodies).decode())
PY
)
[[ "$out" =~ ^b[12]\ hello\ b[12]$ ]] || it_http_fail "pipelined responses: $out"

it_log "Upgrade (WebSocket-style): after 101 the connections are spliced both ways"
out=$(it_in_client "$IT_PY" - <<'PY'
import socket
s = socket.create_connection(("10.10.1.1", 8080), timeout=5)
s.sendall(b"GET /app/ws HTTP/1.1\r\nhost: shop.example\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n")
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
s.sendall(b"ping-12345")
echo = b""
while len(echo) < 10:
    echo += s.recv(100)
print(head.split(b"\r\n")[0].decode(), echo.decode())
PY
)
[ "$out" = "HTTP/1.1 101 Switching Protocols ping-12345" ] || it_http_fail "upgrade: $out"
[ "$(it_stat http_upgrades)" -ge 1 ] || it_http_fail "http_upgrades not counted"

it_log "CONNECT is refused (405) on a listener without allow_connect"
out=$(it_in_client "$IT_PY" - <<'PY'
import socket
s = socket.create_connection(("10.10.1.1", 8080), timeout=5)
s.sendall(b"CONNECT 10.10.2.11:80 HTTP/1.1\r\nhost: 10.10.2.11:80\r\n\r\n")
print(s.recv(4096).split(b"\r\n")[0].decode())
PY
)
[ "$out" = "HTTP/1.1 405 Method Not Allowed" ] || it_http_fail "CONNECT: $out"

it_log "fault injection: an abort (418) and a 300 ms delay"
out=$(c -o /dev/null -w "%{http_code}" "$PROXY/fault/abort")
[ "$out" = 418 ] || it_http_fail "fault abort: $out"
out=$(c -o /dev/null -w "%{http_code} %{time_total}" "$PROXY/fault/delay")
"$IT_PY" -c 'import sys; c, t = sys.argv[1].split(); sys.exit(0 if c == "200" and float(t) >= 0.3 else 1)' "$out" || it_http_fail "fault delay: $out"

it_log "the route timeout (300 ms) answers 504 before a slow backend does"
before=$(it_stat http_upstream_rq_timeout)
out=$(c -o /dev/null -w "%{http_code} %{time_total}" "$PROXY/timeout/slow?on=all&ms=2000")
"$IT_PY" -c 'import sys; c, t = sys.argv[1].split(); sys.exit(0 if c == "504" and 0.25 < float(t) < 1.5 else 1)' "$out" || it_http_fail "route timeout: $out"
[ "$(it_stat http_upstream_rq_timeout)" -eq $((before + 1)) ] || it_http_fail "http_upstream_rq_timeout not counted"

it_log "the cluster's max_requests (2) answers 503 UO to the requests beyond it"
before=$(it_stat http_rq_overflow)
lpids=
for i in 1 2 3 4 5; do
	c -o "$IT_WORK/limited.$i" -w "%{http_code}\n" "$PROXY/limited/slow?on=all&ms=1500" >"$IT_WORK/limited.$i.code" &
	lpids="$lpids $!"
	sleep 0.1
done
wait $lpids
codes=$(cat "$IT_WORK"/limited.*.code | sort | tr '\n' ' ')
echo "    $codes"
[ "$codes" = "200 200 503 503 503 " ] || it_http_fail "max_requests 2 of 5 at once: $codes"
[ "$(it_stat http_rq_overflow)" -eq $((before + 3)) ] || it_http_fail "http_rq_overflow: $(($(it_stat http_rq_overflow) - before)), want 3"

it_log "routes swapped every 100 ms during a wrk run: no error, no non-2xx, the direct response from one of the two tables"
sed 's/hello from meshdp/hello again/' "$IT_L4_CONFIG" >"$IT_WORK/swap.json"
cp "$IT_L4_CONFIG" "$IT_WORK/orig.json"
gen0=$(it_ctl --json status | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
it_in_client wrk -t 2 -c 16 -d 4s "$PROXY/" >"$IT_WORK/wrk-swap" 2>&1 &
wpid=$!
swaps=0
while kill -0 $wpid 2>/dev/null; do
	f=$IT_WORK/orig.json
	[ $((swaps % 2)) -eq 0 ] && f=$IT_WORK/swap.json
	it_ctl config apply "$f" >/dev/null || it_http_fail "config apply failed"
	swaps=$((swaps + 1))
	sleep 0.1
done
wait $wpid || true
sed 's/^/    /' "$IT_WORK/wrk-swap"
gen1=$(it_ctl --json status | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
echo "    $swaps swaps, generation $gen0 -> $gen1"
grep -q "Requests/sec" "$IT_WORK/wrk-swap" || it_http_fail "wrk did not run"
grep -q "Socket errors\|Non-2xx" "$IT_WORK/wrk-swap" && it_http_fail "errors during the route swaps"
[ $((gen1 - gen0)) -ge 20 ] || it_http_fail "only $((gen1 - gen0)) swaps went live"
body=$(c "$PROXY/direct")
[ "$body" = "hello from meshdp" ] || [ "$body" = "hello again" ] || it_http_fail "direct response after the swaps: $body"

it_http_diag
it_log "every local response counted by class"
[ "$(it_stat http_local_responses)" -eq $(($(it_stat http_local_2xx) + $(it_stat http_local_3xx) + $(it_stat http_local_4xx) + $(it_stat http_local_5xx))) ] || it_http_fail "local responses by class do not add up"
it_stop_meshdp
echo "PASS"
