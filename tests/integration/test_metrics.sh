#!/usr/bin/env bash
# Prometheus exposition on the loopback admin endpoint: HELP/TYPE for every
# meshdp_* metric, and counters that agree with meshctl. Then the L4 views
# (lib_l4.sh topology): meshctl services / endpoints / breakers / limits / flows
# and the service and endpoint metrics after a known number of connections.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_l4.sh"

it_start_meshdp
it_topology_tap
it_in_client ping -c 3 -i 0.2 -W 2 10.10.1.1 >/dev/null || it_fail "ping failed"

curl -sf http://127.0.0.1:9901/metrics >"$IT_WORK/metrics" || it_fail "GET /metrics failed"
curl -sf http://127.0.0.1:9901/ready | grep -q ready || it_fail "GET /ready failed"
code=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9901/nope)
[ "$code" = 404 ] || it_fail "unknown path answered $code"
"$IT_PY" - "$IT_WORK/metrics" "$(it_stat icmp_echo_replies)" <<'PY' || it_fail "metrics exposition is wrong"
import re, sys
text = open(sys.argv[1]).read()
helps, types, samples = set(), set(), {}
for line in text.splitlines():
    if line.startswith("# HELP "):
        helps.add(line.split()[2])
    elif line.startswith("# TYPE "):
        types.add(line.split()[2])
    elif line and not line.startswith("#"):
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$', line)
        assert m, f"bad sample line: {line}"
        name = m.group(1)
        assert name.startswith("meshdp_"), name
        assert name in helps and name in types, f"{name} lacks HELP or TYPE"
        samples[name] = samples.get(name, 0) + float(m.group(3))
assert samples.get("meshdp_icmp_echo_replies_total") == float(sys.argv[2]), (samples.get("meshdp_icmp_echo_replies_total"), sys.argv[2])
assert samples.get("meshdp_up") == 1
assert "meshdp_config_generation" in samples
assert any(n.startswith("meshdp_port_") for n in samples), "no port metrics"
print(f"{len(samples)} metrics, all with HELP and TYPE")
PY
it_stop_meshdp
ip netns del "$IT_NS_C"
ip netns del "$IT_NS_S"

it_log "L4: meshctl views and per-service metrics"
it_start_meshdp --config "$IT_L4_CONFIG"
it_topology_backends
it_wait_healthy shop/web
for _ in $(seq 1 12); do
	it_in_client curl -sf -m 3 -o /dev/null http://10.30.0.10/ || it_fail "curl to the VIP failed"
done
it_ctl services | grep -q "^shop/web " || it_fail "meshctl services does not list shop/web"
it_ctl endpoints --service shop/web | grep -q "healthy" || it_fail "meshctl endpoints shows no healthy endpoint"
it_ctl breakers >/dev/null || it_fail "meshctl breakers failed"
it_ctl limits | grep -q "^api-rate " || it_fail "meshctl limits does not list api-rate"
it_ctl flows --service web --limit 5 >"$IT_WORK/flows.txt" || it_fail "meshctl flows failed"
# 12 flows to the VIP, 5 shown, and the listing says it stopped short
[ "$(grep -c -- '-> 10.30.0.10:80 ' "$IT_WORK/flows.txt")" -eq 5 ] || it_fail "meshctl flows --limit 5 does not show 5 flows to the VIP: $(cat "$IT_WORK/flows.txt")"
grep -q "more flows than shown" "$IT_WORK/flows.txt" || it_fail "meshctl flows --limit 5 of 12 does not say so"
out=$(it_ctl endpoints --service nope 2>&1) && it_fail "an unknown service was accepted"
grep -q "unknown service 'nope'" <<<"$out" || it_fail "unknown service refused with: $out"
for v in services endpoints breakers limits; do
	it_ctl --json "$v" >"$IT_WORK/$v.json" || it_fail "meshctl --json $v failed"
done
it_ctl --json flows --service shop/web --limit 1000 >"$IT_WORK/flows.json" || it_fail "meshctl --json flows failed"
curl -sf http://127.0.0.1:9901/metrics >"$IT_WORK/metrics" || it_fail "GET /metrics failed"
"$IT_PY" - "$IT_WORK" <<'PY' || it_fail "L4 views or metrics are wrong"
import json, re, sys
w = sys.argv[1]
load = lambda n: json.load(open(f"{w}/{n}.json"))
svc = {s["service"]: s for s in load("services")}
assert svc["shop/web"]["vip"] == "10.30.0.10" and svc["shop/web"]["endpoints"] == 3, svc["shop/web"]
assert svc["shop/web"]["usable"] == 3, svc["shop/web"]
eps = [e for e in load("endpoints") if e["service"] == "shop/web"]
assert len(eps) == 3 and all(e["health"] == "healthy" for e in eps), eps
conns = sum(e["connections"] for e in eps)
assert conns == 12, f"endpoints admitted {conns} connections, curl made 12"
assert {b["service"] for b in load("breakers")} == set(svc), "breakers miss a service"
lim = {l["name"]: l for l in load("limits")}
assert lim["api-rate"]["scope"] == "service" and lim["api-rate"]["action"] == "reset", lim
flows = load("flows")["flows"]
assert len(flows) == 12, f"{len(flows)} flows of shop/web, expected 12"
for f in flows:
    assert f["service"] == "shop/web" and f["proto"] == "tcp", f
    assert f["forward"].startswith("10.10.1.2:") and f["forward"].endswith("-> 10.30.0.10:80"), f
    assert f["endpoint"] == f["reply"].split(" -> ")[0], f
    assert f["endpoint"].rsplit(":", 1)[0] in ("10.10.2.11", "10.10.2.12", "10.10.2.13"), f
    assert f["packets_fwd"] >= 3 and f["packets_rev"] >= 3 and f["bytes_rev"] > 0, f
samples = {}
for line in open(f"{w}/metrics").read().splitlines():
    m = re.match(r'^([a-z_]+)(\{[^}]*\})? (\S+)$', line)
    if m:
        samples[(m.group(1), m.group(2) or "")] = float(m.group(3))
def total(name, **labels):
    want = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(v for (n, l), v in samples.items() if n == name and all(x in l for x in want))
assert total("meshdp_endpoint_connections_total", service="shop/web") == 12, samples
assert total("meshdp_endpoint_healthy", service="shop/web") == 3
assert total("meshdp_service_endpoints", service="shop/web", state="usable") == 3
assert total("meshdp_flows") >= 12 and total("meshdp_flow_inserts_total") >= 12
print(f"{len(flows)} flows, {conns} connections, metrics agree")
PY
it_stop_meshdp
it_log "ok"
