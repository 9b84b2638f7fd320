#!/usr/bin/env bash
# The meshdp demo: install what is missing, build, start meshdp on the embedded
# default config and profile (two TAP ports, no NIC, hugepages if reserved, else
# --no-huge), join a client namespace and three backend namespaces (nginx in
# each, answering its own name) through it, show plain routing, then swap in the
# mesh config (tools/demo-mesh.json) live and show the mesh at work: an HTTP
# listener with a 90/10 canary split, retries hiding a dead endpoint, and
# refused requests (a workload no policy allows, a smuggling attempt, direct
# access to a backend).
# Usage: tools/demo.sh [--once]   (--once: stop after the show instead of waiting)
set -euo pipefail
cd "$(dirname "$0")/.."
once=false
[ "${1:-}" = "--once" ] && once=true

tools/deps.sh demo
export MESHDP_BUILD=${MESHDP_BUILD:-$PWD/build}
tools/build.sh "$MESHDP_BUILD" >/dev/null
source tests/integration/lib.sh
source tests/integration/lib_l4.sh

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# expect WHAT CONDITION...: the demo says when the mesh did not do what it shows
# (and exits non-zero at the end, which is what makes it a test in CI)
wrong=0
expect() { local what=$1; shift; "$@" || { echo "demo: NOT AS EXPECTED: $what" >&2; wrong=$((wrong + 1)); }; }
show() { printf '$ %s\n' "$*"; "$@"; }
client() { ip netns exec "$IT_NS_C" "$@"; }
rogue() { ip netns exec "$IT_NS_C" "$@" --interface 10.10.1.3; }
# tally N URL: N requests from the frontend workload, answers counted by backend
tally()
{
	for _ in $(seq "$1"); do client curl -s -m 5 "$2" | cut -d' ' -f1; done | sort | uniq -c
}

step "starting meshdp on the embedded default config (TAP ports mdp0, mdp1; router mode)"
it_start_meshdp
it_topology_backends
show "$IT_MESHCTL" status

step "router mode: the client (netns $IT_NS_C, 10.10.1.2) reaches a backend directly"
show client ping -c 2 -i 0.3 10.10.2.11
show client curl -sS http://10.10.2.11/

step "swapping in the mesh config live: services, policies, an HTTP listener on 10.10.1.1:80"
show "$IT_MESHCTL" config apply tools/demo-mesh.json
it_wait_healthy shop/reviews-v1 shop/reviews-v2
show "$IT_MESHCTL" http routes shop

step "a 90/10 canary: 100 requests to /reviews (reviews-v1 is b1 + b2, reviews-v2 is b3)"
printf '$ tally 100 http://10.10.1.1/reviews\n'
split=$(tally 100 http://10.10.1.1/reviews)
echo "$split"
count() { awk -v b="$1" '$2 == b { n = $1 } END { print n + 0 }' <<<"$split"; }
expect "the canary split is about 90/10" test "$(($(count b1) + $(count b2)))" -ge 75 -a "$(count b3)" -ge 1

step "retries hide a dead endpoint: ratings' third endpoint (b3:8081) refuses every connection"
printf '$ tally 9 http://10.10.1.1/ratings\n'
split=$(tally 9 http://10.10.1.1/ratings)
echo "$split"
expect "every request to ratings answered by b1 or b2" test "$(($(count b1) + $(count b2)))" -eq 9
show "$IT_MESHCTL" endpoints --service shop/ratings
"$IT_MESHCTL" stats | grep -E "http_upstream_rq_retry|http_rf_|proxy_upstream_failed" || true

step "refused: the rogue workload (10.10.1.3) has no policy to reviews (403)"
code=$(rogue curl -s -o /dev/null -w '%{http_code}' http://10.10.1.1/reviews)
echo "$code"
expect "the rogue workload refused with 403" test "$code" = 403
step "refused: a request with both Content-Length and Transfer-Encoding (smuggling, 400)"
client timeout 3 bash -c 'exec 3<>/dev/tcp/10.10.1.1/80
printf "POST /reviews HTTP/1.1\r\nHost: shop\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" >&3
head -1 <&3' | tee "$IT_WORK/smuggle.txt" || true
expect "the smuggling attempt refused with 400" grep -q "^HTTP/1.1 400" "$IT_WORK/smuggle.txt"
step "refused: in mesh mode the backends are reachable only through services"
show client curl -sS -m 2 -o /dev/null -w '%{http_code}\n' http://10.10.2.11/ || true

step "what meshdp counted"
"$IT_MESHCTL" stats | grep -E "^(http_|router_|proxy_|l4_policy|drop_l4)" || true
echo "Prometheus metrics: curl http://127.0.0.1:9901/metrics"

if $once; then
	step "stopping (--once)"
	it_stop_meshdp
	exit $((wrong > 0))
fi
[ "$wrong" -eq 0 ] || echo "demo: $wrong step(s) not as expected (above)" >&2
step "meshdp is running. Try: ip netns exec $IT_NS_C curl http://10.10.1.1/reviews ; $IT_MESHCTL stats"
echo "Press Ctrl-C to stop meshdp and remove the namespaces."
trap 'echo; echo stopping; exit 0' INT TERM
while kill -0 "$IT_MESHDP_PID" 2>/dev/null; do sleep 1; done
echo "meshdp exited; see $IT_WORK/meshdp.log"
