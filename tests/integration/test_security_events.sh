#!/usr/bin/env bash
# Security events (SM-DR21) and request inspection: the HTTP listener of
# tests/data/http-proxy.json (lib_http.sh) with a security event file of its
# own, a deny policy on /app/secret, a route declaring its query parameters,
# and a logging backend (on b1 and b2, port 8000: service shop/app) that
# writes every request line it gets. Checks: curl requests carrying each
# injection class (SQL, script, path traversal, CRLF), duplicate and
# undeclared query parameters, a request the parser refuses (a raw socket)
# and authorization denials (HTTP 403, a tcp_proxy connection reset) each give one JSON line of their kind with the
# client, listener, service, method, path and detail, and the
# security_event_<kind> counters equal the lines; in detect mode the backend
# still gets the requests; a burst over rate_per_s is suppressed (counted),
# and every event is a line, suppressed or dropped; block mode (applied live)
# answers 400 "request refused" and the backend never sees the request, while
# a clean request still goes through; kill -SEGV: the file's last line is a
# crash event with signal 11 and meshdp died by SIGSEGV. The listener takes
# HTTP/2 too: an h2c request's script in its user-agent is an event as well.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_l4.sh"
source "$(dirname "$0")/lib_http.sh"
PROXY=$IT_HTTP_PROXY
SEV=$IT_WORK/security.log
SEEN=$IT_WORK/backend-requests.log

# The proxy's config with security events to a file, a deny policy, a route
# declaring its parameters; $1: request_inspection mode.
sev_config()
{
	"$IT_PY" - "$IT_L4_CONFIG" "$SEV" "$1" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
main = next(r for r in c["route_configs"] if r["name"] == "main")
main["virtual_hosts"][0]["routes"].insert(0, {"name": "search", "match": {"prefix": "/search"},
                                              "cluster": "shop/app", "query_params": ["q", "page"]})
c["listeners"][0]["http"]["http2"] = {"enabled": True}
c["telemetry"] = {"security_events": {"output": "file", "path": sys.argv[2], "rate_per_s": 20}}
c["request_inspection"] = {"mode": sys.argv[3], "headers": ["user-agent", "referer"]}
c["listeners"].append({"name": "tcp", "type": "tcp_proxy", "address": "10.10.1.1",
                       "port": 9090, "cluster": "shop/web"})
c["authorization"] = [{"name": "deny-secret", "action": "deny",
                       "rules": [{"to": [{"operation": {"paths": ["/app/secret*"]}}]}]},
                      {"name": "deny-rogue", "action": "deny",
                       "rules": [{"from": [{"source": {"ip_blocks": ["10.10.1.3/32"]}}]}]}]
print(json.dumps(c, indent=1))
EOF
}
sev_config detect >"$IT_WORK/detect.json"
sev_config block >"$IT_WORK/block.json"
IT_L4_CONFIG=$IT_WORK/detect.json

BACKENDS=()
cleanup()
{
	set +e
	for p in "${BACKENDS[@]}"; do kill "$p" 2>/dev/null; done
	it_l4_cleanup
}
trap cleanup EXIT

# no core file of a test's daemon on the disk; the kill below checks the signal it died of
ulimit -c 0
it_http_start
for b in b1 b2; do
	ip netns exec "mdp-$b" "$IT_PY" - "$SEEN" "$b" <<'EOF' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        with open(sys.argv[1], "a") as f:
            f.write(f"{sys.argv[2]} {self.requestline}\n")
        body = b"ok\n"
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", 8000), H).serve_forever()
EOF
	BACKENDS+=($!)
done
backend_up() { ip netns exec "mdp-$1" curl -sf -o /dev/null "http://127.0.0.1:8000/up"; }
for b in b1 b2; do it_wait_for "the logging backend on $b" 10 backend_up "$b"; done

diag()
{
	it_ctl stats | grep -v " 0$" | grep -E "security_event|inspect|http_bad|http_inspect|authz" >&2 || true
	echo "--- $SEV ---" >&2
	tail -n 20 "$SEV" >&2 || true
}
fail()
{
	diag
	it_fail "$@"
}
# code ARGS...: the status curl got
code() { it_in_client curl -s -m 10 -o /dev/null -w '%{http_code}' "$@" || true; }
expect_code()
{
	local want=$1 got
	shift
	got=$(code "$@")
	[ "$got" = "$want" ] || fail "curl $*: status $got, want $want"
}
lines() { [ "$(wc -l <"$SEV" 2>/dev/null || echo 0)" -ge "$1" ]; }
counter() { it_stat "$1"; }

it_log "detect mode: one request per class, each still served"
expect_code 200 "$PROXY/app/item?id=1%27%20or%20%271%27%3D%271"
expect_code 200 "$PROXY/app/find?x=%3Cscript%3Ealert(1)%3C%2Fscript%3E"
expect_code 200 --path-as-is "$PROXY/app/files/..%2f..%2fetc/passwd"
expect_code 200 "$PROXY/app/go?u=%0d%0aSet-Cookie:%20x=1"
expect_code 200 "$PROXY/app/list?id=1&id=2"
expect_code 200 "$PROXY/search?q=car&debug=1"
expect_code 200 "$PROXY/search?q=car&page=2" # declared: no event
expect_code 200 "$PROXY/app/o'reilly/books?q=select+a+car" # benign: no event
expect_code 403 "$PROXY/app/secret/keys"
# a tcp_proxy connection a policy denies: reset, and an event
! it_in_client curl -s -m 5 --interface 10.10.1.3 -o /dev/null http://10.10.1.1:9090/ ||
	fail "the rogue client got through the tcp_proxy listener"
# HTTP/2 (h2c, prior knowledge): its streams are inspected on the same path
expect_code 200 --http2-prior-knowledge -A "Mozilla/5.0 <script>" "$PROXY/app/h2"
it_in_client "$IT_PY" - <<'EOF' || fail "the malformed request was not answered 400"
import socket
s = socket.create_connection(("10.10.1.1", 8080), timeout=5)
s.sendall(b"GET /app/x HTTP/1.1\r\nhost: 10.10.1.1\r\nbad header\r\n\r\n")
reply = s.recv(4096)
assert reply.startswith(b"HTTP/1.1 400 "), reply
EOF
it_wait_for "10 security event lines" 10 lines 10
"$IT_PY" - "$SEV" <<'EOF' || fail "the security event lines"
import collections, json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
kinds = collections.Counter(l["kind"] for l in lines)
want = {"injection_sql": 1, "injection_script": 2, "injection_traversal": 1, "injection_crlf": 1,
        "extra_parameter": 2, "authz_denied": 2, "invalid_request": 1}
assert kinds == want, f"kinds {dict(kinds)}, want {want}"
by = {}
for l in lines:
    by.setdefault(l["kind"], []).append(l)
    assert l["time"].endswith("Z") and l["worker"] == 0, l
    if l["listener"] == "tcp":  # the rogue's connection
        assert l["kind"] == "authz_denied" and l["client"].startswith("10.10.1.3:"), l
        assert l["service"] == "shop/web" and l["detail"].endswith("(reset)"), l
        continue
    assert l["client"].startswith("10.10.1.2:") and l["listener"] == "http", l
for k in ("injection_sql", "injection_script", "injection_traversal", "injection_crlf",
          "authz_denied"):
    assert by[k][0]["service"] == "shop/app" and by[k][0]["method"] == "GET", by[k][0]
assert by["injection_sql"][0]["path"].startswith("/app/item?id="), by["injection_sql"]
assert by["injection_sql"][0]["detail"] == "quote, then a boolean condition in query", by["injection_sql"]
assert by["injection_script"][0]["detail"] == "<tag in query", by["injection_script"]
h2 = by["injection_script"][1]
assert h2["detail"] == "<tag in user-agent" and h2["path"] == "/app/h2", h2
assert by["injection_traversal"][0]["detail"] == "../ in path", by["injection_traversal"]
assert by["injection_crlf"][0]["detail"] == "CR or LF in query", by["injection_crlf"]
extra = sorted(l["detail"] for l in by["extra_parameter"])
assert extra == ['duplicate query parameter "id"', 'undeclared query parameter "debug"'], extra
assert by["authz_denied"][0]["path"] == "/app/secret/keys", by["authz_denied"]
bad = by["invalid_request"][0]
assert bad["method"] == "-" and bad["detail"].endswith("(400)"), bad
print(f"{len(lines)} lines: {dict(kinds)}")
EOF
[ "$(counter security_event_injection_script)" = 2 ] || fail "security_event_injection_script is not 2"
[ "$(counter security_event_authz_denied)" = 2 ] || fail "security_event_authz_denied is not 2"
for k in injection_sql injection_traversal injection_crlf invalid_request; do
	[ "$(counter security_event_$k)" = 1 ] || fail "security_event_$k is $(counter security_event_$k), want 1"
done
[ "$(counter security_event_extra_parameter)" = 2 ] || fail "security_event_extra_parameter is not 2"
[ "$(counter inspect_requests)" -ge 9 ] || fail "inspect_requests $(counter inspect_requests): not every request was scanned"
grep -q "b[12] GET /item?id=1%27%20or" "$SEEN" || fail "detect mode: the backend did not get the SQL request"

it_log "a burst over rate_per_s (20/s): the rest suppressed, every event counted once"
urls=()
for i in $(seq 1 100); do urls+=("$PROXY/direct?a=$i&a=$i"); done
it_in_client curl -s -m 30 "${urls[@]}" >/dev/null
suppressed=$(counter security_events_suppressed)
[ "$suppressed" -gt 0 ] || fail "100 events at once, rate_per_s 20: nothing suppressed"
[ "$(counter security_event_extra_parameter)" = 102 ] || fail "security_event_extra_parameter is $(counter security_event_extra_parameter), want 102"
all_events()
{
	it_ctl --json stats | "$IT_PY" -c '
import json, sys
c = json.load(sys.stdin)["counters"]
print(sum(v for k, v in c.items() if k.startswith("security_event_") and k != "security_event_ring_full"))'
}
events=$(all_events)
ring_full=$(counter security_event_ring_full)
it_wait_for "$((events - suppressed - ring_full)) lines" 10 lines $((events - suppressed - ring_full))
got=$(wc -l <"$SEV")
[ "$got" = $((events - suppressed - ring_full)) ] || fail "$got lines for $events events, $suppressed suppressed, $ring_full dropped"
it_log "  $events events: $got lines, $suppressed suppressed"

it_log "block mode, applied live: 400 and the backend never sees the request"
it_ctl config apply "$IT_WORK/block.json" >/dev/null || fail "config apply (block) refused"
sleep 1.1 # a second: the token bucket is full again
before=$(wc -l <"$SEV")
expect_code 400 "$PROXY/app/blocked?id=1%20union%20select%202"
body=$(it_in_client curl -s -m 10 "$PROXY/app/blocked2?f=..%2f..%2fetc%2fpasswd")
[ "$body" = "request refused" ] || fail "the blocked request's body: \"$body\""
expect_code 200 "$PROXY/app/clean?q=select+a+car"
[ "$(counter http_inspect_blocked)" = 2 ] || fail "http_inspect_blocked is $(counter http_inspect_blocked), want 2"
it_wait_for "the blocked requests' events" 10 lines $((before + 2))
! grep -q "blocked" "$SEEN" || fail "the backend saw a blocked request: $(grep blocked "$SEEN")"
grep -q "GET /clean?q=select+a+car" "$SEEN" || fail "block mode: the clean request did not reach the backend"

it_log "a crash: kill -SEGV writes a crash event, meshdp dies by SIGSEGV"
pid=$IT_MESHDP_PID
kill -SEGV "$pid"
rc=0
wait "$pid" || rc=$?
IT_MESHDP_PID=
[ "$rc" = 139 ] || fail "meshdp exited with status $rc, not by SIGSEGV (139)"
tail -n 1 "$SEV" | "$IT_PY" -c '
import json, sys
l = json.loads(sys.stdin.read())
assert l["kind"] == "crash" and l["signal"] == 11 and l["signal_name"] == "SIGSEGV", l
assert l["sent"] is True and l["sender_pid"] > 0 and l["time"].endswith("Z"), l
assert l["pid"] == int(sys.argv[1]) and "address" not in l, l
print("crash line:", l)' "$pid" || fail "the last line is not the crash event: $(tail -n 1 "$SEV")"
it_log "PASS"
