#!/usr/bin/env bash
# Telemetry (SM-DR22, SM-DR23): the HTTP listener of tests/data/http-proxy.json
# (nginx backends) plus a tcp_proxy listener, with a telemetry section that
# logs JSON with headers to a file. Checks: istio_requests_total equals what
# curl sent, code by code, for a scripted mix (200, 301, 404, 418, 503); wrk's
# requests are all counted; the duration histogram is cumulative and its count
# equals the requests; TCP connection and byte counters equal what curl moved;
# promtool check metrics accepts the exposition (but for Istio's own
# "milliseconds" unit); every non-2xx of the mix is in the access log, parsed
# back, and no token is there in clear (nor in the daemon's output); the
# format switches to Common Log Format live; meshctl top shows the service's
# rate while wrk runs; a real Prometheus scrapes meshdp and PromQL through its
# HTTP API gives the request rate and p99 with Istio's labels, and every query
# of the Grafana dashboard (docs/grafana-meshdp.json) answers; W3C and B3 trace
# contexts reach the backend (http_backend.py on b1) with the client's trace id
# and the proxy's client span as the parent, the trace id is in the access
# log, a Zipkin collector in the test receives the proxy's server and client
# spans chained from the client's span to the ids the backend saw, so does its OTLP/HTTP JSON endpoint once otlp_url replaces
# zipkin_url live, and an unreachable collector costs a counter, not the request.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_l4.sh"
source "$(dirname "$0")/lib_http.sh"
PROXY=$IT_HTTP_PROXY
ADMIN=http://127.0.0.1:9901
PROM_PORT=9391
LOG=$IT_WORK/access.log
PROM_PID=

# The HTTP proxy's config with a tcp_proxy listener and a telemetry section.
telemetry_config()
{
	"$IT_PY" - "$IT_L4_CONFIG" "$LOG" "$1" "${2:-zipkin}" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
main = next(r for r in c["route_configs"] if r["name"] == "main")
main["virtual_hosts"][0]["routes"].insert(0, {"name": "trace", "match": {"prefix": "/trace/"},
                                              "cluster": "shop/limited", "prefix_rewrite": "/"})
c["listeners"].append({"name": "tcp", "type": "tcp_proxy", "address": "10.10.1.1",
                       "port": 9090, "cluster": "shop/web"})
c["telemetry"] = {"metrics": {"max_series": 256},
                  "tracing": {"enabled": True, "sample_percent": 0,
                              **({"otlp_url": "http://127.0.0.1:9411/v1/traces"} if sys.argv[4] == "otlp"
                                 else {"zipkin_url": "http://127.0.0.1:9411/api/v2/spans"})},
                  "access_log": {"format": sys.argv[3], "output": "file", "path": sys.argv[2],
                                 "headers": ["authorization", "cookie", "x-api-key", "user-agent"],
                                 "mask_headers": ["x-api-key"]}}
print(json.dumps(c, indent=1))
EOF
}
telemetry_config json >"$IT_WORK/telemetry.json"
telemetry_config clf >"$IT_WORK/telemetry-clf.json"
telemetry_config json otlp >"$IT_WORK/telemetry-otlp.json"
IT_L4_CONFIG=$IT_WORK/telemetry.json

BACKEND_PID=
COLLECTOR_PID=
cleanup()
{
	set +e
	[ -n "$COLLECTOR_PID" ] && kill "$COLLECTOR_PID" 2>/dev/null
	[ -n "$BACKEND_PID" ] && kill "$BACKEND_PID" 2>/dev/null
	[ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null && wait "$PROM_PID" 2>/dev/null
	it_l4_cleanup
}
trap cleanup EXIT
# a collector of Zipkin v2 (/api/v2/spans) and OTLP/HTTP JSON (/v1/traces):
# every POSTed body, one line each, in a file per format
"$IT_PY" - "$IT_WORK/spans.json" "$IT_WORK/spans-otlp.json" <<'EOF' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        out = {"/api/v2/spans": sys.argv[1], "/v1/traces": sys.argv[2]}.get(self.path)
        if out is None or self.headers["content-type"] != "application/json":
            self.send_response(404)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        with open(out, "ab") as f:
            f.write(body.replace(b"\n", b"") + b"\n")
        self.send_response(202)
        self.send_header("content-length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", 9411), H).serve_forever()
EOF
COLLECTOR_PID=$!
it_http_start

it_log "a real Prometheus scrapes meshdp every second (started now, queried after wrk)"
mkdir -p "$IT_WORK/prom"
cat >"$IT_WORK/prom/prometheus.yml" <<EOF
global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: meshdp
    static_configs: [ { targets: ["127.0.0.1:9901"] } ]
EOF
prometheus --config.file="$IT_WORK/prom/prometheus.yml" --storage.tsdb.path="$IT_WORK/prom/data" \
	--web.listen-address="127.0.0.1:$PROM_PORT" >"$IT_WORK/prom/log" 2>&1 &
PROM_PID=$!
# promql QUERY [TIME]: the instant query's JSON answer
promql()
{
	curl -sf "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" ${2:+--data-urlencode "time=$2"}
}
prom_up() { curl -sf "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null; }
it_wait_for "prometheus ready" 30 prom_up

scrape() { curl -sf "$ADMIN/metrics" >"$IT_WORK/metrics" || it_fail "GET /metrics failed"; }
# metric_sum NAME [LABEL=VALUE ...]: the sum of NAME's samples carrying every label given.
metric_sum()
{
	"$IT_PY" - "$IT_WORK/metrics" "$@" <<'EOF'
import re, sys
name, want = sys.argv[2], [tuple(a.split("=", 1)) for a in sys.argv[3:]]
total = 0
for line in open(sys.argv[1]):
    m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line.strip())
    if not m or m.group(1) != name:
        continue
    labels = dict(re.findall(r'([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
    if all(labels.get(k) == v for k, v in want):
        total += float(m.group(3))
print(int(total) if total == int(total) else total)
EOF
}
# code N: what curl got for its arguments
SECRETS=(-H "authorization: Bearer SECRET-AAA-token" -H "cookie: sid=SECRET-BBB"
	-H "x-api-key: SECRET-CCC" -H "user-agent: telemetry-test")
code() { it_in_client curl -s -m 10 -o /dev/null -w '%{http_code}' "${SECRETS[@]}" "$@" || true; }

it_log "a scripted mix of responses, with credentials in headers and the query"
declare -A sent=([200]=0 [301]=0 [404]=0 [418]=0 [503]=0)
mix()
{
	local want=$1 got
	shift
	got=$(code "$@")
	[ "$got" = "$want" ] || it_http_fail "curl $*: status $got, want $want"
	sent[$want]=$((sent[$want] + 1))
}
for i in 1 2 3 4; do mix 200 "$PROXY/direct"; done
for i in 1 2; do mix 301 "$PROXY/old?access_token=SECRET-DDD"; done
for i in 1 2 3 4 5; do mix 404 -H "host: nowhere.example" "$PROXY/x?token=SECRET-EEE"; done
for i in 1 2 3; do mix 418 "$PROXY/fault/abort"; done
for i in 1 2; do mix 503 "$PROXY/app/none"; done # nothing listens on the app port
for i in 1 2 3; do mix 200 "$PROXY/"; done
scrape
for c in 200 301 404 418 503; do
	got=$(metric_sum istio_requests_total response_code=$c)
	[ "$got" = "${sent[$c]}" ] || it_http_fail "istio_requests_total{response_code=$c} = $got, curl got ${sent[$c]}"
done
got=$(metric_sum istio_requests_total response_code=404 response_flags=NR destination_service=unknown)
[ "$got" = 5 ] || it_http_fail "the 404s are not no-route (NR) without a destination service: $got"
got=$(metric_sum istio_requests_total response_code=503 response_flags=UF destination_service_name=app)
[ "$got" = 2 ] || it_http_fail "the 503s are not upstream connect failures (UF) of service app: $got"
got=$(metric_sum istio_requests_total response_code=200 source_workload=frontend source_workload_namespace=shop destination_service=web.shop.svc.cluster.local destination_service_name=web destination_service_namespace=shop reporter=source connection_security_policy=none)
[ "$got" = 3 ] || it_http_fail "Istio's labels of the GETs to web: $got of 3"
got=$(metric_sum istio_request_duration_milliseconds_count response_code=418)
[ "$got" = 3 ] || it_http_fail "the duration histogram counts $got 418s, want 3"
got=$(metric_sum istio_request_duration_milliseconds_bucket response_code=418 le=+Inf)
[ "$got" = 3 ] || it_http_fail "the +Inf bucket holds $got 418s, want 3"

it_log "the access log: every non-2xx, parsed back, no token in clear"
want_lines=$((sent[301] + sent[404] + sent[418] + sent[503]))
log_lines() { [ "$(wc -l <"$LOG" 2>/dev/null || echo 0)" -ge "$1" ]; }
it_wait_for "$want_lines access log lines" 10 log_lines "$want_lines"
"$IT_PY" - "$LOG" "${sent[301]}" "${sent[404]}" "${sent[418]}" "${sent[503]}" <<'EOF' || it_http_fail "access log: $(head -3 "$LOG")"
import collections, json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
codes = collections.Counter(l["response_code"] for l in lines)
want = {301: int(sys.argv[2]), 404: int(sys.argv[3]), 418: int(sys.argv[4]), 503: int(sys.argv[5])}
assert codes == want, f"codes {dict(codes)}, want {want}"
for l in lines:
    assert l["downstream_remote_address"].startswith("10.10.1.2:"), l
    assert l["source_workload"] == "frontend" and l["source_namespace"] == "shop", l
    assert l["headers"]["authorization"] == "Bearer ***", l
    assert l["headers"]["cookie"] == "***" and l["headers"]["x-api-key"] == "***", l
    assert l["headers"]["user-agent"] == "telemetry-test", l
    if l["response_code"] in (418, 503):  # routed to a cluster: the proxy made an id
        assert len(l["x_request_id"]) == 36, l
    assert l["timestamp"].endswith("Z") and l["duration_ms"] >= 0, l
    if l["response_code"] == 503:
        assert l["response_flags"] == "UF" and l["upstream_host"].endswith(":8000"), l
        assert l["destination_service"] == "app.shop.svc.cluster.local" and l["route_name"] == "app", l
    if l["response_code"] == 404:
        assert l["response_flags"] == "NR" and l["path"] == "/x?token=***", l
    if l["response_code"] == 301:
        assert l["path"] == "/old?access_token=***" and l["route_name"] == "old", l
print(f"{len(lines)} lines: {dict(codes)}")
EOF
! grep -q SECRET "$LOG" || it_http_fail "a credential is in the access log in clear: $(grep SECRET "$LOG" | head -1)"

it_log "TCP: connections and bytes equal what curl moved through the tcp_proxy listener"
bytes=0
for i in 1 2 3; do
	n=$(it_in_client curl -s -m 10 -o /dev/null -w '%{size_header} %{size_download}' http://10.10.1.1:9090/)
	bytes=$((bytes + ${n% *} + ${n#* }))
done
closed() { scrape; [ "$(metric_sum istio_tcp_connections_closed_total destination_service_name=web)" = 3 ]; }
it_wait_for "3 TCP connections closed in the metrics" 10 closed
got=$(metric_sum istio_tcp_connections_opened_total destination_service_name=web source_workload=frontend)
[ "$got" = 3 ] || it_http_fail "istio_tcp_connections_opened_total = $got, curl opened 3"
got=$(metric_sum istio_tcp_sent_bytes_total destination_service_name=web)
[ "$got" = "$bytes" ] || it_http_fail "istio_tcp_sent_bytes_total = $got, curl received $bytes bytes"
got=$(metric_sum istio_tcp_received_bytes_total destination_service_name=web)
[ "$got" -gt 0 ] || it_http_fail "istio_tcp_received_bytes_total = $got"

it_log "wrk while Prometheus scrapes"
scrape
before=$(metric_sum istio_requests_total destination_service_name=web response_code=200)
scrapes() { [ "$(promql 'count_over_time(up{job="meshdp"}[1m])' | "$IT_PY" -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')" -ge 3 ]; }
it_wait_for "3 scrapes by Prometheus" 30 scrapes
it_in_client wrk -t2 -c8 -d6s "$PROXY/" >"$IT_WORK/wrk.out" 2>&1 &
wrk_pid=$!
sleep 3
it_ctl --json top --once >"$IT_WORK/top.json" || it_http_fail "meshctl top --once failed"
wait $wrk_pid || it_http_fail "wrk failed: $(cat "$IT_WORK/wrk.out")"
wrk_end=$(date +%s)
cat "$IT_WORK/wrk.out"
"$IT_PY" - "$IT_WORK/top.json" <<'EOF' || it_http_fail "meshctl top: $(cat "$IT_WORK/top.json")"
import json, sys
rows = {r["service"]: r for r in json.load(open(sys.argv[1]))}
web = rows["web.shop.svc.cluster.local"]
assert web["rps"] > 50 and web["error_rate"] == 0 and 0 < web["p50_ms"] <= web["p99_ms"], web
print(f"meshctl top: web {web['rps']:.0f} req/s, p50 {web['p50_ms']:.2f} ms, p99 {web['p99_ms']:.2f} ms")
EOF
grep -q "Non-2xx" "$IT_WORK/wrk.out" && it_http_fail "wrk saw non-2xx responses"
n_wrk=$(awk '/requests in/ {print $1}' "$IT_WORK/wrk.out")
scrape
after=$(metric_sum istio_requests_total destination_service_name=web response_code=200)
# wrk counts the responses it read; one in flight per connection at its end may be left over
[ $((after - before)) -ge "$n_wrk" ] && [ $((after - before)) -le $((n_wrk + 8)) ] ||
	it_http_fail "istio_requests_total grew by $((after - before)), wrk completed $n_wrk"
echo "    wrk completed $n_wrk requests, istio_requests_total grew by $((after - before))"
sleep 3 # two more scrapes after wrk ended
# over the 4 s before wrk's end: all of it under wrk
rate=$(promql 'sum by (destination_service, reporter) (rate(istio_requests_total{destination_service_name="web",response_code="200"}[4s]))' $((wrk_end - 1)))
p99=$(promql 'histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{destination_service_name="web"}[4s])))' $((wrk_end - 1)))
total=$(promql 'sum(istio_requests_total{destination_service_name="web",response_code="200"})')
ups=$(promql 'sum_over_time(up{job="meshdp"}[10s])' | "$IT_PY" -c 'import json,sys; print(json.load(sys.stdin)["data"]["result"][0]["value"][1])')
echo "    Prometheus: $ups successful scrapes of meshdp in the last 10 s"
wrk_rps=$(awk '/Requests\/sec/ {print $2}' "$IT_WORK/wrk.out")
"$IT_PY" - "$rate" "$p99" "$total" "$after" "$wrk_rps" <<'EOF' || it_http_fail "PromQL: $rate / $p99 / $total"
import json, sys
rate, p99, total = (json.loads(a)["data"]["result"] for a in sys.argv[1:4])
assert len(rate) == 1, rate
assert rate[0]["metric"] == {"destination_service": "web.shop.svc.cluster.local", "reporter": "source"}, rate
# wrk's average against 4 s of it: within a factor of 2 (both cores are busy)
assert float(sys.argv[5]) / 2 < float(rate[0]["value"][1]) < float(sys.argv[5]) * 2, (rate, sys.argv[5])
assert 0 < float(p99[0]["value"][1]) < 10000, p99
assert int(float(total[0]["value"][1])) == int(sys.argv[4]), (total, sys.argv[4])
print(f"PromQL: web {float(rate[0]['value'][1]):.0f} req/s (wrk: {sys.argv[5]}), p99 {float(p99[0]['value'][1]):.2f} ms")
EOF

it_log "the Grafana dashboard's queries: every one answers for web through this Prometheus"
# docs/grafana-meshdp.json's panel queries and its service variable, with
# Grafana's variables as a dashboard over the last 5 minutes and every service
# would give them: each must return a finite value for the web service.
"$IT_PY" - "$(dirname "$0")/../../docs/grafana-meshdp.json" "http://127.0.0.1:$PROM_PORT" <<'EOF' || it_http_fail "the dashboard's PromQL"
import json, math, re, sys, urllib.parse, urllib.request
d = json.load(open(sys.argv[1]))
exprs = [(p["title"] + ": " + t["legendFormat"], t["expr"]) for p in d["panels"] for t in p["targets"]]
var = next(v for v in d["templating"]["list"] if v["name"] == "destination_service")
m = re.fullmatch(r"label_values\((\w+), *(\w+)\)", var["query"]["query"])
exprs.append(("variable destination_service", f"count by ({m.group(2)}) ({m.group(1)})"))
assert {v["name"] for v in d["templating"]["list"]} == {"datasource", "destination_service"}, d["templating"]
for p in d["panels"]:
    assert p["datasource"]["uid"] == "${datasource}", p
for name, e in exprs:
    q = e.replace("$__rate_interval", "5m").replace("$destination_service", var["allValue"])
    assert "$" not in q, q
    url = sys.argv[2] + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
    r = json.load(urllib.request.urlopen(url))
    assert r["status"] == "success", (q, r)
    web = [float(s["value"][1]) for s in r["data"]["result"]
           if s["metric"].get("destination_service") == "web.shop.svc.cluster.local"]
    assert web and all(math.isfinite(v) for v in web), (q, r["data"]["result"])
    print(f"    {web[0]:12.4g}  {name}")
print(f"{len(exprs)} dashboard queries answered")
EOF

it_log "promtool check metrics accepts the exposition (two lint rules aside)"
# Istio's own name keeps "milliseconds"; "abbreviated units" takes the words
# "us" (not_for_us) and "ns" (NDP neighbour solicitations) for time units.
scrape
lint=$(promtool check metrics <"$IT_WORK/metrics" 2>&1 |
	grep -v '^istio_request_duration_milliseconds use base unit "seconds" instead of "milliseconds"$' |
	grep -Ev '^meshdp_(drop_(arp|eth|ndp)_not_for_us|ndp_ns_(in|out))_total metric names should not contain abbreviated units$' || true)
[ -z "$lint" ] || it_http_fail "promtool check metrics: $lint"

it_log "trace context: W3C and B3 from the client reach the backend with the proxy's client span as parent"
ip netns exec mdp-b1 "$IT_PY" "$(dirname "$0")/http_backend.py" b1 8000 >"$IT_WORK/backend.log" 2>&1 &
BACKEND_PID=$!
backend_up() { [ -n "$(ip netns exec mdp-b1 ss -Hltn "sport = :8000")" ]; }
it_wait_for "http_backend.py on b1" 10 backend_up
TID=4bf92f3577b34da6a3ce929d0e0e4736
seen=$(it_in_client curl -s -m 10 -H "traceparent: 00-$TID-00f067aa0ba902b7-01" -H "tracestate: congo=t61rcWkgMzE" "$PROXY/trace/headers")
"$IT_PY" - "$TID" "$seen" <<'EOF' || it_http_fail "W3C: the backend saw: $seen"
import re, sys
tid, seen = sys.argv[1], sys.argv[2].lower()
tp = re.findall(r"^traceparent: *(\S+)", seen, re.M)
assert len(tp) == 1, tp
ver, t, parent, flags = tp[0].split("-")
assert ver == "00" and t == tid and flags == "01", tp
assert re.fullmatch(r"[0-9a-f]{16}", parent) and parent != "00f067aa0ba902b7", tp
assert "tracestate: congo=t61rcwkgmze" in seen, seen
print(f"W3C: the backend's parent is the proxy's client span {parent}")
EOF
seen=$(it_in_client curl -s -m 10 -H "x-b3-traceid: 463ac35c9f6413ad" -H "x-b3-spanid: a2fb4a1d1a96d312" -H "x-b3-sampled: 1" "$PROXY/trace/headers")
"$IT_PY" - "$seen" <<'EOF' || it_http_fail "B3: the backend saw: $seen"
import re, sys
seen = sys.argv[1].lower()
def one(name):
    v = re.findall(r"^%s: *(\S+)" % name, seen, re.M)
    assert len(v) == 1, (name, v)
    return v[0]
assert one("x-b3-traceid") == "0000000000000000463ac35c9f6413ad", seen
span, server = one("x-b3-spanid"), one("x-b3-parentspanid")  # the proxy's client and server spans
assert re.fullmatch(r"[0-9a-f]{16}", span) and span != "a2fb4a1d1a96d312", seen
assert re.fullmatch(r"[0-9a-f]{16}", server) and server not in (span, "a2fb4a1d1a96d312"), seen
assert one("x-b3-sampled") == "1", seen
assert one("traceparent") == f"00-0000000000000000463ac35c9f6413ad-{span}-01", seen
print(f"B3: the backend's parent is the proxy's client span {span}, its parent the server span {server}")
EOF
seen=$(it_in_client curl -s -m 10 "$PROXY/trace/headers")
grep -Eqi "^traceparent: 00-[0-9a-f]{32}-[0-9a-f]{16}-00" <<<"$seen" || it_http_fail "no new trace (not sampled at 0 %): $seen"
[ "$(code -H "traceparent: 00-$TID-00f067aa0ba902b7-01" -H "host: nowhere.example" "$PROXY/t")" = 404 ] || it_http_fail "no 404"
it_wait_for "the traced 404 in the access log" 10 grep -q "\"trace_id\":\"$TID\"" "$LOG"

it_log "spans: the collector gets the proxy's span with the ids the backend saw"
w3c_span=$(it_in_client curl -s -m 10 -H "traceparent: 00-$TID-00f067aa0ba902b7-01" "$PROXY/trace/headers" | tr -d '\r' |
	sed -n "s/^[Tt]raceparent: 00-$TID-\([0-9a-f]\{16\}\)-01$/\1/p")
b3_span=$(it_in_client curl -s -m 10 -H "x-b3-traceid: 463ac35c9f6413ad" -H "x-b3-spanid: a2fb4a1d1a96d312" -H "x-b3-sampled: 1" "$PROXY/trace/headers" | tr -d '\r' |
	sed -n 's/^[Xx]-[Bb]3-[Ss]pan[Ii]d: \([0-9a-f]\{16\}\)$/\1/p')
[ -n "$w3c_span" ] && [ -n "$b3_span" ] || it_http_fail "the backend saw no proxy span ids: '$w3c_span' '$b3_span'"
spans_in() { grep -q "$1" "$IT_WORK/spans.json" 2>/dev/null; }
it_wait_for "the W3C request's span at the collector" 10 spans_in "\"id\":\"$w3c_span\""
it_wait_for "the B3 request's span at the collector" 10 spans_in "\"id\":\"$b3_span\""
"$IT_PY" - "$IT_WORK/spans.json" "$TID" "$w3c_span" "$b3_span" <<'EOF' || it_http_fail "spans: $(head -c 2000 "$IT_WORK/spans.json")"
import json, sys
spans = {}
for line in open(sys.argv[1]):
    for s in json.loads(line):
        spans[s["id"]] = s
# the backend's parent is the proxy's client span; its parent the proxy's
# server span; that one's parent the client's span
wc, bc = spans[sys.argv[3]], spans[sys.argv[4]]
w, b = spans[wc["parentId"]], spans[bc["parentId"]]
assert w["traceId"] == wc["traceId"] == sys.argv[2] and w["parentId"] == "00f067aa0ba902b7", (w, wc)
assert b["traceId"] == bc["traceId"] == "0000000000000000463ac35c9f6413ad" and b["parentId"] == "a2fb4a1d1a96d312", (b, bc)
for s in (w, b):
    assert s["kind"] == "SERVER" and s["tags"]["http.status_code"] == "200", s
    assert s["tags"]["upstream_cluster"] == "limited.shop.svc.cluster.local" and s["tags"]["http.path"] == "/trace/headers", s
    assert s["timestamp"] > 1.6e15 and 0 <= s["duration"] < 10e6, s
    assert s["remoteEndpoint"]["ipv4"] == "10.10.1.2", s
for c, s in ((wc, w), (bc, b)):
    assert c["kind"] == "CLIENT" and c["tags"]["http.status_code"] == "200" and c["tags"]["attempts"] == "1", c
    assert c["remoteEndpoint"]["ipv4"] + ":" + str(c["remoteEndpoint"]["port"]) == c["tags"]["upstream_host"], c
    assert s["timestamp"] <= c["timestamp"] and c["timestamp"] + c["duration"] <= s["timestamp"] + s["duration"], (s, c)
# the untraced requests (sampled out at 0 %) sent nothing
assert all(s["tags"]["http.status_code"] != "404" or s["traceId"] == sys.argv[2] for s in spans.values()), spans
print(f"{len(spans)} spans; W3C {w['parentId']} -> server {w['id']} -> client {wc['id']}, B3 {b['parentId']} -> server {b['id']} -> client {bc['id']}")
EOF

it_log "spans as OTLP/HTTP JSON: otlp_url instead, switched live"
it_ctl config apply "$IT_WORK/telemetry-otlp.json" >/dev/null || it_http_fail "config apply (otlp) refused"
otlp_span=$(it_in_client curl -s -m 10 -H "traceparent: 00-$TID-00f067aa0ba902b7-01" "$PROXY/trace/headers" | tr -d '\r' |
	sed -n "s/^[Tt]raceparent: 00-$TID-\([0-9a-f]\{16\}\)-01$/\1/p")
[ -n "$otlp_span" ] || it_http_fail "the backend saw no proxy span id (otlp)"
otlp_in() { grep -q "\"spanId\":\"$otlp_span\"" "$IT_WORK/spans-otlp.json" 2>/dev/null; }
it_wait_for "the request's span at the OTLP endpoint" 10 otlp_in
"$IT_PY" - "$IT_WORK/spans-otlp.json" "$TID" "$otlp_span" <<'EOF' || it_http_fail "OTLP: $(head -c 2000 "$IT_WORK/spans-otlp.json")"
import json, sys
spans = {}
for line in open(sys.argv[1]):
    for rs in json.loads(line)["resourceSpans"]:
        attrs = {a["key"]: a["value"]["stringValue"] for a in rs["resource"]["attributes"]}
        assert attrs["service.name"] == "meshdp", rs
        for ss in rs["scopeSpans"]:
            for s in ss["spans"]:
                spans[s["spanId"]] = s
c = spans[sys.argv[3]]
s = spans[c["parentSpanId"]]
assert c["kind"] == 3 and c["traceId"] == sys.argv[2], c
a = {x["key"]: x["value"]["stringValue"] for x in s["attributes"]}
assert s["traceId"] == sys.argv[2] and s["parentSpanId"] == "00f067aa0ba902b7" and s["kind"] == 2, s
assert int(s["startTimeUnixNano"]) > 1.6e18 and 0 <= int(s["endTimeUnixNano"]) - int(s["startTimeUnixNano"]) < 10e9, s
assert a["http.status_code"] == "200" and a["http.path"] == "/trace/headers", a
assert a["upstream_cluster"] == "limited.shop.svc.cluster.local" and a["net.peer.ip"] == "10.10.1.2", a
print(f"OTLP: server span {s['spanId']} (parent {s['parentSpanId']}), client span {c['spanId']}, trace {s['traceId']}")
EOF
scrape
[ "$(metric_sum meshdp_span_export_failures_total)" = 0 ] || it_http_fail "span exports failed while the collector ran"
kill "$COLLECTOR_PID"; wait "$COLLECTOR_PID" 2>/dev/null || true; COLLECTOR_PID=
t0=${EPOCHREALTIME/./}
[ "$(code -H "traceparent: 00-$TID-00f067aa0ba902b7-01" "$PROXY/trace/headers")" = 200 ] || it_http_fail "no 200 with the collector gone"
t1=${EPOCHREALTIME/./}
echo "    a traced request with the collector gone: $(((t1 - t0) / 1000)) ms"
failed() { scrape; [ "$(metric_sum meshdp_span_export_failures_total)" -ge 1 ]; }
it_wait_for "the failed export counted" 10 failed

it_log "Common Log Format, switched live"
it_ctl config apply "$IT_WORK/telemetry-clf.json" >/dev/null || it_http_fail "config apply (clf) refused"
n0=$(wc -l <"$LOG")
[ "$(code -H "host: nowhere.example" "$PROXY/clf?access_token=SECRET-FFF")" = 404 ] || it_http_fail "no 404"
it_wait_for "a CLF line" 10 log_lines $((n0 + 1))
tail -n 1 "$LOG"
tail -n 1 "$LOG" | grep -Eq '^10\.10\.1\.2 - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9:]{8} \+0000\] "GET /clf\?access_token=\*\*\* HTTP/1\.1" 404 [0-9]+$' ||
	it_http_fail "not a Common Log Format line: $(tail -n 1 "$LOG")"
! grep -q SECRET "$LOG" "$IT_WORK/meshdp.log" || it_http_fail "a credential in clear: $(grep -h SECRET "$LOG" "$IT_WORK/meshdp.log" | head -1)"
scrape
[ "$(metric_sum meshdp_access_log_ring_full_total)" = 0 ] || it_http_fail "access log records dropped"
[ "$(metric_sum meshdp_access_log_write_errors_total)" = 0 ] || it_http_fail "access log write errors"
it_stop_meshdp
echo "PASS"
