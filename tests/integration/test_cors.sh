#!/usr/bin/env bash
# CORS at the edge (SM-DR27; tests/data/http-proxy.json with a cors policy on
# the virtual host "shop" and another on the route /api/ to a backend that logs
# every request it sees, the L4 topology of lib_l4.sh; HTTP/2 on the plaintext
# listener): with curl over HTTP/1.1 and HTTP/2, a preflight from an allowed
# origin (exact, suffix, regex) answered by meshdp with the policy's fields,
# one from a disallowed origin answered 403 without CORS fields, neither ever
# reaching the upstream; an actual request from an allowed origin gets
# access-control-allow-origin (replacing the upstream's own), -credentials,
# -expose-headers and Vary: Origin, one from a disallowed origin none (the
# upstream's stripped), one without Origin passes untouched; the route's policy
# replaces the virtual host's, which a direct response and meshdp's 503 get;
# meshctl http route-test shows the decision, http routes the policies; a
# policy with credentials and origin "*" is refused with its path; the
# counters. Then a
# real browser: headless Chromium loads a page from origin A, whose script
# fetches the API through meshdp with a custom header and credentials (a
# preflight first): it succeeds and reads the exposed header; the same page
# from origin B fails with a CORS error; the page's result is read back from
# the DOM, and the upstream saw A's request only, and no preflight.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_l4.sh"
source "$(dirname "$0")/lib_http.sh"
PROXY=$IT_HTTP_PROXY
PORT_A=9081 # the page's origins: http servers in the client namespace
PORT_B=9082
ORIGIN_A=http://127.0.0.1:$PORT_A
ORIGIN_B=http://127.0.0.1:$PORT_B
SEEN=$IT_WORK/upstream-seen.log

"$IT_PY" - "$IT_ROOT/tests/data/http-proxy.json" "$ORIGIN_A" >"$IT_WORK/cors.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
origin_a = sys.argv[2]
d["services"].append({"name": "api", "namespace": "shop", "vip": "10.30.0.17",
                      "ports": [{"port": 8000, "protocol": "tcp"}],
                      "endpoints": [{"address": "10.10.2.11"}], "health": {"interval_ms": 0}})
# nothing listens on b3's port 8000: every try fails, meshdp answers 503
d["services"].append({"name": "down", "namespace": "shop", "vip": "10.30.0.18",
                      "ports": [{"port": 8000, "protocol": "tcp"}],
                      "endpoints": [{"address": "10.10.2.13"}], "health": {"interval_ms": 0}})
for svc in ("api", "down"):
    d["policies"].append({"name": "frontend-to-" + svc, "action": "allow",
                          "from": {"namespace": "shop", "service": "frontend"}, "to": {"service": svc}})
d["listeners"][0]["http"]["http2"] = {"enabled": True}
vh = [rc for rc in d["route_configs"] if rc["name"] == "main"][0]["virtual_hosts"][0]
vh["cors"] = {"allow_origins": [{"exact": "http://vh.test"}]}
vh["routes"].insert(0, {"name": "api", "match": {"prefix": "/api/"}, "cluster": "shop/api",
    "cors": {"allow_origins": [{"exact": origin_a}, {"suffix": ".allowed.test"},
                               {"regex": "http://pr-[0-9]+\\.preview\\.test(:[0-9]+)?"}],
             "allow_methods": ["GET", "PUT", "DELETE"], "allow_headers": ["x-token", "content-type"],
             "expose_headers": ["x-api-version"], "allow_credentials": True, "max_age_s": 600}})
vh["routes"].insert(1, {"name": "down", "match": {"prefix": "/down/"}, "cluster": "shop/down"})
json.dump(d, sys.stdout, indent=1)
PY

# The upstream: logs "METHOD PATH ORIGIN" of each request; answers with its own
# x-api-version, and on /api/upstream-cors its own access-control-allow-origin.
cat >"$IT_WORK/backend.py" <<'PY'
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
LOG = open(sys.argv[1], "a", buffering=1)
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def answer(self):
        n = int(self.headers.get("content-length") or 0)
        self.rfile.read(n)
        LOG.write("%s %s %s\n" % (self.command, self.path, self.headers.get("origin", "-")))
        body = b'{"api": "ok"}\n'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("x-api-version", "7")
        if self.path.startswith("/api/upstream-cors"):
            self.send_header("access-control-allow-origin", "*")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_PUT = do_POST = do_DELETE = do_OPTIONS = answer
ThreadingHTTPServer(("0.0.0.0", 8000), H).serve_forever()
PY

listening() { [ -n "$(ip netns exec "$1" ss -Hltn "sport = :$2")" ]; }
c() { it_in_client curl -s -m 10 "$@" || true; }
PIDS=
cleanup()
{
	set +e
	kill $PIDS 2>/dev/null
	it_l4_cleanup
}

it_start_meshdp --config "$IT_WORK/cors.json"
it_topology_backends
trap cleanup EXIT
: >"$SEEN"
ip netns exec mdp-b1 "$IT_PY" "$IT_WORK/backend.py" "$SEEN" >"$IT_WORK/backend.log" 2>&1 &
PIDS="$PIDS $!"
it_wait_for "the API backend listening in mdp-b1" 10 listening mdp-b1 8000

# field HEAD NAME: the value of NAME in the response head HEAD (CR stripped), "" when absent
field() { tr -d '\r' <<<"$1" | grep -i "^$2:" | head -1 | sed 's/^[^:]*: *//' || true; }
# no_cors HEAD WHAT: HEAD carries no access-control-* field
no_cors()
{
	! grep -qi "^access-control-" <<<"$1" || it_http_fail "$2: CORS fields in the response: $1"
}
# expect HEAD NAME VALUE WHAT
expect()
{
	local got
	got=$(field "$1" "$2")
	[ "$got" = "$3" ] || it_http_fail "$4: $2 is '$got', expected '$3'; the head: $1"
}
seen_count() { grep -c "$1" "$SEEN" || true; }
# preflight [CURL-ARGS...] ORIGIN PATH: the response head of a preflight for PUT with x-token
preflight()
{
	local o=${*: -2:1} p=${*: -1}
	c -o /dev/null -D - "${@:1:$#-2}" -X OPTIONS -H "Origin: $o" \
		-H "Access-Control-Request-Method: PUT" -H "Access-Control-Request-Headers: x-token" \
		"$PROXY$p"
}
stat0() { it_stat "$1"; }
pf0=$(stat0 router_cors_preflight)
pfd0=$(stat0 router_cors_preflight_denied)
al0=$(stat0 router_cors_allowed)
de0=$(stat0 router_cors_denied)

for proto in --http1.1 --http2-prior-knowledge; do
	it_log "preflights over $proto: allowed origins answered by meshdp, a disallowed one refused"
	for o in "$ORIGIN_A" https://a.b.allowed.test http://pr-12.preview.test:8080; do
		h=$(preflight "$proto" "$o" /api/data)
		grep -q "^HTTP/[0-9.]* 200" <<<"$h" || it_http_fail "preflight from $o: $h"
		expect "$h" access-control-allow-origin "$o" "preflight from $o"
		expect "$h" access-control-allow-credentials true "preflight from $o"
		expect "$h" access-control-allow-methods "GET, PUT, DELETE" "preflight from $o"
		expect "$h" access-control-allow-headers "x-token, content-type" "preflight from $o"
		expect "$h" access-control-max-age 600 "preflight from $o"
		expect "$h" vary Origin "preflight from $o"
		[ -z "$(field "$h" access-control-expose-headers)" ] || it_http_fail "a preflight with expose-headers: $h"
	done
	for o in "$ORIGIN_B" http://evil.test http://pr-12.preview.test.evil http://allowed.test; do
		h=$(preflight "$proto" "$o" /api/data)
		grep -q "^HTTP/[0-9.]* 403" <<<"$h" || it_http_fail "preflight from disallowed $o: $h"
		no_cors "$h" "preflight from disallowed $o"
	done

	it_log "actual requests over $proto: CORS fields for allowed origins only"
	h=$(c -o /dev/null -D - "$proto" -H "Origin: $ORIGIN_A" "$PROXY/api/data")
	grep -q "^HTTP/[0-9.]* 200" <<<"$h" || it_http_fail "GET from $ORIGIN_A: $h"
	expect "$h" access-control-allow-origin "$ORIGIN_A" "GET from $ORIGIN_A"
	expect "$h" access-control-allow-credentials true "GET from $ORIGIN_A"
	expect "$h" access-control-expose-headers x-api-version "GET from $ORIGIN_A"
	expect "$h" vary Origin "GET from $ORIGIN_A"
	expect "$h" x-api-version 7 "GET from $ORIGIN_A"
	[ -z "$(field "$h" access-control-allow-methods)" ] || it_http_fail "an actual response with allow-methods: $h"
	# the upstream's own access-control-allow-origin is replaced, not doubled
	h=$(c -o /dev/null -D - "$proto" -H "Origin: $ORIGIN_A" "$PROXY/api/upstream-cors")
	[ "$(grep -ci "^access-control-allow-origin:" <<<"$h")" -eq 1 ] || it_http_fail "allow-origin not replaced: $h"
	expect "$h" access-control-allow-origin "$ORIGIN_A" "GET upstream-cors from $ORIGIN_A"
	# a disallowed origin: none, the upstream's removed too
	h=$(c -o /dev/null -D - "$proto" -H "Origin: $ORIGIN_B" "$PROXY/api/upstream-cors")
	grep -q "^HTTP/[0-9.]* 200" <<<"$h" || it_http_fail "GET from $ORIGIN_B: $h"
	no_cors "$h" "GET from disallowed $ORIGIN_B"
	expect "$h" vary Origin "GET from $ORIGIN_B"
	# no Origin: untouched
	h=$(c -o /dev/null -D - "$proto" "$PROXY/api/upstream-cors")
	expect "$h" access-control-allow-origin "*" "GET without Origin"
	[ -z "$(field "$h" vary)" ] || it_http_fail "a request without Origin got Vary: $h"
	# the virtual host's policy on a direct response; the route's replaces it on /api/
	h=$(c -D - "$proto" -H "Origin: http://vh.test" "$PROXY/direct")
	grep -q "^hello from meshdp" <<<"$h" || it_http_fail "direct response: $h"
	expect "$h" access-control-allow-origin http://vh.test "direct response from http://vh.test"
	h=$(c -o /dev/null -D - "$proto" -H "Origin: http://vh.test" "$PROXY/api/data")
	no_cors "$h" "GET /api/ from the virtual host's origin"
	# meshdp's own error answer carries the fields too
	h=$(c -o /dev/null -D - "$proto" -H "Origin: http://vh.test" "$PROXY/down/x")
	grep -q "^HTTP/[0-9.]* 5[0-9][0-9]" <<<"$h" || it_http_fail "GET /down/: $h"
	expect "$h" access-control-allow-origin http://vh.test "meshdp's error answer to http://vh.test"
done

it_log "the upstream never saw a preflight; it saw every actual request"
[ "$(seen_count '^OPTIONS')" -eq 0 ] || it_http_fail "the upstream saw preflights: $(cat "$SEEN")"
[ "$(seen_count "^GET /api/data $ORIGIN_A$")" -eq 2 ] || it_http_fail "the upstream's log: $(cat "$SEEN")"
# an OPTIONS without Access-Control-Request-Method is no preflight: it goes upstream
h=$(c -o /dev/null -D - -X OPTIONS -H "Origin: $ORIGIN_A" "$PROXY/api/data")
expect "$h" access-control-allow-origin "$ORIGIN_A" "OPTIONS without a requested method"
[ "$(seen_count "^OPTIONS /api/data $ORIGIN_A$")" -eq 1 ] || it_http_fail "a plain OPTIONS did not reach the upstream: $(cat "$SEEN")"

it_log "counters"
# per protocol: 3 allowed and 4 denied preflights; allowed: 2 on /api/, 1 direct,
# 1 error answer; denied: 1 from B, 1 from the virtual host's origin on /api/;
# plus the plain OPTIONS
[ "$(stat0 router_cors_preflight)" -eq $((pf0 + 6)) ] || it_http_fail "router_cors_preflight $(stat0 router_cors_preflight), expected $((pf0 + 6))"
[ "$(stat0 router_cors_preflight_denied)" -eq $((pfd0 + 8)) ] || it_http_fail "router_cors_preflight_denied $(stat0 router_cors_preflight_denied), expected $((pfd0 + 8))"
[ "$(stat0 router_cors_allowed)" -eq $((al0 + 9)) ] || it_http_fail "router_cors_allowed $(stat0 router_cors_allowed), expected $((al0 + 9))"
[ "$(stat0 router_cors_denied)" -eq $((de0 + 4)) ] || it_http_fail "router_cors_denied $(stat0 router_cors_denied), expected $((de0 + 4))"

it_log "meshctl http route-test shows the CORS decision"
out=$(it_ctl http route-test main 10.10.1.1 /api/data OPTIONS -H "Origin: $ORIGIN_A" -H "Access-Control-Request-Method: PUT")
grep -q "^status        200" <<<"$out" && grep -q "^cors          preflight$" <<<"$out" &&
	grep -q "^              access-control-allow-origin: $ORIGIN_A$" <<<"$out" ||
	it_http_fail "route-test of a preflight: $out"
out=$(it_ctl http route-test main 10.10.1.1 /api/data GET -H "Origin: $ORIGIN_B")
grep -q "^cors          denied$" <<<"$out" || it_http_fail "route-test from a disallowed origin: $out"
it_ctl --json http routes main | "$IT_PY" -c '
import json, sys
v = json.load(sys.stdin)["route_configs"][0]["virtual_hosts"][0]
c = v["routes"][0]["cors"]
assert c["allow_methods"] == "GET, PUT, DELETE" and c["max_age_s"] == 600 and c["allow_credentials"], c
assert c["allow_origins"][1] == {"suffix": ".allowed.test"}, c
assert v["cors"]["allow_origins"] == [{"exact": "http://vh.test"}] and v["routes"][1]["cors"] is None, v["cors"]' ||
	it_http_fail "http routes does not show the cors policies"

it_log "a policy with credentials and origin \"*\" is refused with its path"
"$IT_PY" - "$IT_WORK/cors.json" >"$IT_WORK/bad.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
vh = [rc for rc in d["route_configs"] if rc["name"] == "main"][0]["virtual_hosts"][0]
vh["routes"][0]["cors"]["allow_origins"] = [{"exact": "*"}]
json.dump(d, sys.stdout)
PY
out=$(it_ctl config apply "$IT_WORK/bad.json" 2>&1) && it_http_fail "a credentials policy with origin * was accepted"
grep -qF '$.route_configs[1].virtual_hosts[0].routes[0].cors.allow_credentials: expected false with the allow_origins entry {"exact": "*"}' <<<"$out" ||
	it_http_fail "the refusal does not name the field: $out"
h=$(preflight "$ORIGIN_A" /api/data)
expect "$h" access-control-allow-origin "$ORIGIN_A" "the running policy after a refused apply"

it_log "a real browser: headless Chromium, page from origin A, then from origin B"
BROWSER=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$BROWSER" ]; then
	it_log "SKIP the browser part: no chromium installed (tools/deps.sh bench installs it)"
	it_stop_meshdp
	it_log "PASS (without the browser part)"
	exit 0
fi
mkdir -p "$IT_WORK/www"
# the script fetches with a custom header, a JSON body and credentials: a
# preflight first; the result goes into the DOM (read back by --dump-dom) and
# to the console (the log, for a failure's diagnosis)
cat >"$IT_WORK/www/index.html" <<EOF
<!doctype html>
<html><body><pre id="result">pending</pre>
<script>
const out = document.getElementById("result");
function done(s) { out.textContent = s; console.log("cors-result: " + s); }
fetch("$PROXY/api/data", {method: "PUT", credentials: "include",
	headers: {"x-token": "browser", "content-type": "application/json"}, body: '{"n": 1}'})
	.then(r => r.text().then(t => done("FETCH-OK " + r.status + " version=" +
		r.headers.get("x-api-version") + " body=" + t.trim())))
	.catch(e => done("FETCH-ERROR " + e.name + ": " + e.message));
</script></body></html>
EOF
for port in $PORT_A $PORT_B; do
	# not through it_in_client: $! must be the server itself (a function in the
	# background is a subshell of its own), or cleanup leaves it running
	ip netns exec "$IT_NS_C" "$IT_PY" -m http.server --bind 127.0.0.1 --directory "$IT_WORK/www" "$port" \
		>"$IT_WORK/page-$port.log" 2>&1 &
	PIDS="$PIDS $!"
	it_wait_for "the page server on $port" 10 listening "$IT_NS_C" "$port"
done
# browse ORIGIN: the page's result, as the DOM holds it after the script ran
browse()
{
	local tag=${1##*:}
	timeout -k 5 60 ip netns exec "$IT_NS_C" "$BROWSER" --headless=new --no-sandbox --disable-gpu \
		--user-data-dir="$IT_WORK/chromium-$tag" --no-first-run --disable-sync \
		--disable-background-networking --disable-component-update --disable-extensions \
		--disable-default-apps --enable-logging=stderr --v=0 --virtual-time-budget=15000 \
		--dump-dom "$1/" 2>"$IT_WORK/chromium-$tag.log" |
		sed -n 's|.*<pre id="result">\([^<]*\)</pre>.*|\1|p'
}
pf1=$(stat0 router_cors_preflight)
pfd1=$(stat0 router_cors_preflight_denied)
opt1=$(seen_count '^OPTIONS') # the test's own plain OPTIONS above
got=$(browse "$ORIGIN_A") || true
it_log "  from $ORIGIN_A: $got"
[ "$got" = 'FETCH-OK 200 version=7 body={"api": "ok"}' ] ||
	it_http_fail "the browser's fetch from the allowed origin: '$got'; $(grep -i "cors\|console" "$IT_WORK/chromium-$PORT_A.log" | tail -5)"
got=$(browse "$ORIGIN_B") || true
it_log "  from $ORIGIN_B: $got"
[ "$got" = "FETCH-ERROR TypeError: Failed to fetch" ] ||
	it_http_fail "the browser's fetch from the disallowed origin: '$got'"
# Chromium names the cause on its console
grep -q "has been blocked by CORS policy" "$IT_WORK/chromium-$PORT_B.log" ||
	it_http_fail "no CORS error on Chromium's console: $(tail -5 "$IT_WORK/chromium-$PORT_B.log")"
grep "blocked by CORS policy" "$IT_WORK/chromium-$PORT_B.log" | head -1 | sed 's/^/  console: /'
[ "$(stat0 router_cors_preflight)" -eq $((pf1 + 1)) ] || it_http_fail "the browser's preflight from A was not answered by meshdp"
[ "$(stat0 router_cors_preflight_denied)" -eq $((pfd1 + 1)) ] || it_http_fail "the browser's preflight from B was not refused by meshdp"
[ "$(seen_count "^PUT /api/data $ORIGIN_A$")" -eq 1 ] || it_http_fail "the upstream did not see A's PUT once: $(cat "$SEEN")"
[ "$(seen_count "^PUT .* $ORIGIN_B$")" -eq 0 ] || it_http_fail "the upstream saw B's PUT: $(cat "$SEEN")"
[ "$(seen_count '^OPTIONS')" -eq "$opt1" ] || it_http_fail "the upstream saw the browser's preflight: $(cat "$SEEN")"

it_stop_meshdp
it_log "PASS"
