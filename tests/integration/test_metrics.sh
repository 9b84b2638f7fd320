#!/usr/bin/env bash
# Prometheus exposition on the loopback admin endpoint: HELP/TYPE for every
# meshdp_* metric, and counters that agree with meshctl.
source "$(dirname "$0")/lib.sh"

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
it_log "ok"
