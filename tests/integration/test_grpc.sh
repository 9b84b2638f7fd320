#!/usr/bin/env bash
# gRPC through meshdp (the L4 topology of lib_l4.sh; grpc_peer.py, Debian's
# python3-grpcio, as server in mdp-b2 and as client): the HTTP/2 listener to
# an HTTP/2 cluster, unary, server streaming (200 replies) and bidirectional
# streaming; grpc-status and grpc-message carried in trailers; a route
# timeout answered as DEADLINE_EXCEEDED in trailers, and a grpc-timeout
# shorter than the route's bounding a request to an HTTP/1.1 endpoint that
# ignores it (curl, no client deadline), and a streaming response that
# outlives grpc-timeout ending with trailers grpc-status 4 (not a reset);
# retry_on "unavailable": a method failing its first try succeeds on the
# retry (the server counts 2 tries); local replies as HTTP 200 + grpc-status
# (UNAVAILABLE for an endpoint that refuses, UNIMPLEMENTED for no route,
# PERMISSION_DENIED for a service the client may not reach); an endpoint
# sending GOAWAY (max_connection_age 300 ms) while calls keep coming: new
# connections, no call lost; gRPC-Web (application/grpc-web+proto, and the
# base64 -text variant) from HTTP/1.1 and HTTP/2 clients translated to gRPC,
# the reply's trailer frame (0x80) checked.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_l4.sh"
source "$(dirname "$0")/lib_http.sh"
PEER=$(dirname "$0")/grpc_peer.py
T=10.10.1.1:8080

"$IT_PY" - "$IT_ROOT/tests/data/http-proxy.json" >"$IT_WORK/grpc.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
def svc(name, vip, addr, port, allow=True):
    d["services"].append({"name": name, "namespace": "shop", "vip": vip,
                          "ports": [{"port": port, "protocol": "tcp"}],
                          "endpoints": [{"address": addr}], "health": {"interval_ms": 0}})
    if allow:
        d["policies"].append({"name": "frontend-to-" + name, "action": "allow",
                              "from": {"namespace": "shop", "service": "frontend"},
                              "to": {"service": name}})
    d["clusters"].append({"service": "shop/" + name, "protocol": "http2"})
svc("grpc", "10.30.0.21", "10.10.2.12", 50051)
svc("grpcage", "10.30.0.22", "10.10.2.13", 50052)
svc("grpcdown", "10.30.0.23", "10.10.2.13", 50059)
svc("grpcdeny", "10.30.0.24", "10.10.2.12", 50051, allow=False)
retry = {"retry_on": ["unavailable"], "num_retries": 2, "backoff": {"base_ms": 10}}
for rc in d["route_configs"]:
    if rc["name"] == "main":
        rc["virtual_hosts"][0]["routes"][0:0] = [
            {"name": "grpc-slow", "match": {"path": "/test.Echo/Slow"}, "cluster": "shop/grpc",
             "timeout_ms": 300},
            {"name": "grpc", "match": {"prefix": "/test.Echo/"}, "cluster": "shop/grpc",
             "timeout_ms": 10000, "retry_policy": retry},
            {"name": "grpc-down", "match": {"prefix": "/test.Down/"}, "cluster": "shop/grpcdown"},
            {"name": "grpc-deny", "match": {"prefix": "/test.Deny/"}, "cluster": "shop/grpcdeny"},
            {"name": "trickle", "match": {"path": "/trickle"}, "cluster": "shop/flaky"}]
        rc["virtual_hosts"].insert(0, {"name": "age", "domains": ["age.test"], "routes": [
            {"match": {"prefix": "/"}, "cluster": "shop/grpcage"}]})
d["listeners"][0]["http"]["http2"] = {"enabled": True}
print(json.dumps(d))
PY
IT_L4_CONFIG=$IT_WORK/grpc.json

listening() { [ -n "$(ip netns exec "$1" ss -Hltn "sport = :$2")" ]; }
delta() { echo $(($(it_stat "$1") - $2)); }
peer() { it_in_client env GRPC_AUTHORITY="${GRPC_AUTHORITY:-}" "$IT_PY" "$PEER" "$@" 2>&1 || true; }

it_http_start
ip netns exec mdp-b2 "$IT_PY" "$PEER" serve 50051 >"$IT_WORK/grpc-server.log" 2>&1 &
P1=$!
ip netns exec mdp-b2 "$IT_PY" "$(dirname "$0")/http_backend.py" b2 8000 >"$IT_WORK/backend-b2.log" 2>&1 &
P3=$!
ip netns exec mdp-b3 "$IT_PY" "$PEER" serve 50052 300 >"$IT_WORK/grpc-age.log" 2>&1 &
P2=$!
cleanup()
{
	set +e
	kill $P1 $P2 $P3 2>/dev/null
	wait $P1 $P2 $P3 2>/dev/null
	it_l4_cleanup
}
trap cleanup EXIT
it_wait_for "the gRPC server in mdp-b2" 15 listening mdp-b2 50051
it_wait_for "the gRPC server in mdp-b3" 15 listening mdp-b3 50052
it_wait_for "http_backend.py in mdp-b2" 10 listening mdp-b2 8000

it_log "unary, server streaming, bidirectional streaming"
out=$(peer unary "$T" hello)
[ "$out" = "echo:hello" ] || it_http_fail "unary: $out"
out=$(peer stream "$T" 200)
[ "$(wc -l <<<"$out")" -eq 200 ] && [ "$(head -1 <<<"$out")" = 0 ] && [ "$(tail -1 <<<"$out")" = 199 ] ||
	it_http_fail "server streaming: $(head -3 <<<"$out")"
out=$(peer bidi "$T" one two three)
[ "$out" = "ONE TWO THREE" ] || it_http_fail "bidi: $out"
out=$(peer call "$T" /test.Echo/Nope x)
[ "$out" = "UNIMPLEMENTED Method not found!" ] || it_http_fail "the server's grpc-status and grpc-message in trailers: $out"

it_log "deadlines: the route's timeout, and grpc-timeout when it is smaller"
out=$(peer call "$T" /test.Echo/Slow x 5)
[ "$out" = "DEADLINE_EXCEEDED upstream request timeout" ] || it_http_fail "route timeout on a gRPC call: $out"
# an endpoint that ignores grpc-timeout (http_backend.py, HTTP/1.1, answering after 2.5 s;
# a gRPC server would enforce the deadline itself): meshdp's own deadline answers
start=${EPOCHREALTIME/./}
out=$(it_in_client curl -s -m 10 --http2-prior-knowledge -D - -o /dev/null -H "content-type: application/grpc" \
	-H "te: trailers" -H "grpc-timeout: 400m" "http://$T/fail?key=gt&n=0&ms=2500" || true)
ms=$(((${EPOCHREALTIME/./} - start) / 1000))
grep -q "^grpc-status: 4" <<<"$out" || it_http_fail "grpc-timeout 400m against a 2 s method: $out"
grep -q "^grpc-message: upstream request timeout" <<<"$out" || it_http_fail "no grpc-message: $out"
grep -q "^HTTP/2 200" <<<"$out" || it_http_fail "a gRPC local reply is not a 200: $out"
[ "$ms" -lt 1500 ] || it_http_fail "grpc-timeout 400m answered after $ms ms"
echo "    grpc-timeout 400m: DEADLINE_EXCEEDED from meshdp after $ms ms (the endpoint answers after 2.5 s)"

it_log "a server stream that outlives its grpc-timeout ends with trailers grpc-status 4, not a reset"
gd=$(it_stat http_grpc_deadline_trailers)
start=${EPOCHREALTIME/./}
rc=0
out=$(it_in_client curl -sS -m 10 --http2-prior-knowledge -D - -o "$IT_WORK/trickle.body" -H "content-type: application/grpc" \
	-H "te: trailers" -H "grpc-timeout: 700m" "http://$T/trickle?n=20&ms=200" 2>&1) || rc=$?
ms=$(((${EPOCHREALTIME/./} - start) / 1000))
[ "$rc" -eq 0 ] || it_http_fail "the stream past its deadline did not end cleanly (curl exit $rc): $out"
grep -q "^HTTP/2 200" <<<"$out" || it_http_fail "the streaming response's head: $out"
grep -q "^grpc-status: 4" <<<"$out" || it_http_fail "no grpc-status 4 in the trailers: $out"
grep -q "^grpc-message: upstream request timeout" <<<"$out" || it_http_fail "no grpc-message in the trailers: $out"
got=$(wc -c <"$IT_WORK/trickle.body")
[ "$got" -ge 6 ] && [ "$got" -lt 120 ] || it_http_fail "the stream's messages before the deadline: $got bytes"
[ "$ms" -lt 2000 ] || it_http_fail "grpc-timeout 700m on a 4 s stream answered after $ms ms"
[ "$(delta http_grpc_deadline_trailers "$gd")" -eq 1 ] || it_http_fail "http_grpc_deadline_trailers +$(delta http_grpc_deadline_trailers "$gd"), want 1"
echo "    grpc-timeout 700m on a stream of 20 messages 200 ms apart: $((got / 6)) messages, then grpc-status 4 after $ms ms"

it_log "retry_on unavailable: the first try fails UNAVAILABLE, the retry succeeds"
rs=$(it_stat http_grpc_retriable_status)
rt=$(it_stat http_upstream_rq_retry)
out=$(peer call "$T" /test.Echo/Flaky k1)
[ "$out" = "OK tries=2" ] || it_http_fail "a retried UNAVAILABLE: $out"
out=$(peer call "$T" /test.Echo/Tries k1)
[ "$out" = "OK 2" ] || it_http_fail "the server did not see 2 tries: $out"
[ "$(delta http_grpc_retriable_status "$rs")" -eq 1 ] || it_http_fail "http_grpc_retriable_status +$(delta http_grpc_retriable_status "$rs")"
[ "$(delta http_upstream_rq_retry "$rt")" -eq 1 ] || it_http_fail "http_upstream_rq_retry +$(delta http_upstream_rq_retry "$rt")"

it_log "local replies as grpc-status: UNAVAILABLE, UNIMPLEMENTED, PERMISSION_DENIED"
lr=$(it_stat http_grpc_local_replies)
out=$(peer call "$T" /test.Down/X x)
[ "${out%% *}" = UNAVAILABLE ] || it_http_fail "an endpoint that refuses: $out"
out=$(GRPC_AUTHORITY=nowhere.example peer call "$T" /none.Svc/X x)
[ "$out" = "UNIMPLEMENTED no route" ] || it_http_fail "no route: $out"
out=$(peer call "$T" /test.Deny/X x)
[ "$out" = "PERMISSION_DENIED RBAC: access denied" ] || it_http_fail "a denied service: $out"
[ "$(delta http_grpc_local_replies "$lr")" -eq 3 ] || it_http_fail "http_grpc_local_replies +$(delta http_grpc_local_replies "$lr"), want 3"

it_log "an endpoint sending GOAWAY (max_connection_age 300 ms): new connections, no call lost"
ga=$(it_stat h2_up_goaways)
uc=$(it_stat h2_up_connections)
out=$(it_in_client "$IT_PY" -c '
import sys, grpc, time
ch = grpc.insecure_channel(sys.argv[1], options=[("grpc.enable_http_proxy", 0),
                                               ("grpc.default_authority", "age.test")])
f = ch.unary_unary("/test.Echo/Unary")
for i in range(60):
    assert f(b"%d" % i, timeout=10) == b"echo:%d" % i
    time.sleep(0.02)
print("ok 60")' "$T" 2>&1 || true)
[ "$out" = "ok 60" ] || it_http_fail "calls across the endpoint's GOAWAYs: $out"
[ "$(delta h2_up_goaways "$ga")" -ge 1 ] || it_http_fail "no GOAWAY counted (h2_up_goaways)"
[ "$(delta h2_up_connections "$uc")" -ge 2 ] || it_http_fail "h2_up_connections +$(delta h2_up_connections "$uc"), want 2 or more"
echo "    60 calls: $(delta h2_up_goaways "$ga") GOAWAYs, $(delta h2_up_connections "$uc") upstream connections"

it_log "gRPC-Web (binary and -text) from HTTP/1.1 and HTTP/2 clients"
CHECK='
import base64, re, struct, sys
b = sys.stdin.buffer.read()
if sys.argv[1] == "text":  # padded segments one after another, as gRPC-Web clients read them
    b = b"".join(base64.b64decode(s) for s in re.findall(rb"[A-Za-z0-9+/]+=*", b))
out = []
while b:
    flag, n = b[0], struct.unpack(">I", b[1:5])[0]
    out.append((flag, b[5:5 + n]))
    b = b[5 + n:]
assert len(out) == 2, out
assert out[0] == (0, b"echo:hello"), out
assert out[1][0] == 0x80, out
t = dict(l.split(b":", 1) for l in out[1][1].split(b"\r\n") if l)
assert t[b"grpc-status"].strip() == b"0", t
print("ok")'
printf '\0\0\0\0\5hello' >"$IT_WORK/web.bin"
base64 -w0 <"$IT_WORK/web.bin" >"$IT_WORK/web.txt"
wr=$(it_stat h2_up_grpc_web_requests)
for v in --http1.1 --http2-prior-knowledge; do
	out=$(it_in_client curl -s -m 10 "$v" -D "$IT_WORK/web.hdr" -H "content-type: application/grpc-web+proto" \
		-H "x-grpc-web: 1" --data-binary "@$IT_WORK/web.bin" "http://$T/test.Echo/Unary" | "$IT_PY" -c "$CHECK" bin 2>&1 || true)
	[ "$out" = ok ] || it_http_fail "gRPC-Web ($v): $out; $(cat "$IT_WORK/web.hdr")"
	grep -qi "^content-type: application/grpc-web+proto" "$IT_WORK/web.hdr" || it_http_fail "gRPC-Web reply type ($v): $(cat "$IT_WORK/web.hdr")"
	out=$(it_in_client curl -s -m 10 "$v" -D "$IT_WORK/webt.hdr" -H "content-type: application/grpc-web-text" \
		--data-binary "@$IT_WORK/web.txt" "http://$T/test.Echo/Unary" | "$IT_PY" -c "$CHECK" text 2>&1 || true)
	[ "$out" = ok ] || it_http_fail "gRPC-Web-text ($v): $out; $(cat "$IT_WORK/webt.hdr")"
	grep -qi "^content-type: application/grpc-web-text" "$IT_WORK/webt.hdr" || it_http_fail "gRPC-Web-text reply type ($v): $(cat "$IT_WORK/webt.hdr")"
done
[ "$(delta h2_up_grpc_web_requests "$wr")" -eq 4 ] || it_http_fail "h2_up_grpc_web_requests +$(delta h2_up_grpc_web_requests "$wr"), want 4"

it_log "no allocation failure"
[ "$(it_stat http_alloc_failed)" -eq 0 ] || it_http_fail "http_alloc_failed"
echo "    $(it_ctl stats | grep -E '^(h2_up|http_grpc)' | grep -v ' 0$' | tr '\n' ' ')"
it_log "PASS"
