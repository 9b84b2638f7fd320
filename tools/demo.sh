#!/usr/bin/env bash
# The meshdp demo: install what is missing, build, start meshdp on the embedded
# default config and profile (two TAP ports, no NIC, hugepages if reserved, else
# --no-huge), join a client and a server namespace through it, and show ping
# (IPv4, IPv6) and curl to a real nginx through the data plane.
# Usage: tools/demo.sh [--once]   (--once: stop after the show instead of waiting)
set -euo pipefail
cd "$(dirname "$0")/.."
once=false
[ "${1:-}" = "--once" ] && once=true

tools/deps.sh demo
export MESHDP_BUILD=${MESHDP_BUILD:-$PWD/build}
tools/build.sh "$MESHDP_BUILD" >/dev/null
source tests/integration/lib.sh

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "starting meshdp (embedded profile: TAP ports mdp0, mdp1; embedded config)"
it_start_meshdp
it_topology_tap
it_start_nginx
show "$IT_MESHCTL" status

step "client (netns $IT_NS_C, 10.10.1.2) pings the node and the server through it"
show ip netns exec "$IT_NS_C" ping -c 2 -i 0.3 10.10.1.1
show ip netns exec "$IT_NS_C" ping -c 2 -i 0.3 10.10.2.2
show ip netns exec "$IT_NS_C" ping -6 -c 2 -i 0.3 fd00:10:2::2
show ip netns exec "$IT_NS_C" traceroute -n -w 1 -q 1 10.20.0.1

step "curl to nginx in netns $IT_NS_S, through meshdp"
show ip netns exec "$IT_NS_C" curl -sS http://10.10.2.2/
show ip netns exec "$IT_NS_C" curl -sS "http://[fd00:10:2::2]/"

step "what meshdp saw"
show "$IT_MESHCTL" neigh
show "$IT_MESHCTL" routes
show "$IT_MESHCTL" stats
echo "Prometheus metrics: curl http://127.0.0.1:9901/metrics"

if $once; then
	step "stopping (--once)"
	it_stop_meshdp
	exit 0
fi
step "meshdp is running. Try: ip netns exec $IT_NS_C curl http://10.10.2.2/ ; $IT_MESHCTL stats"
echo "Press Ctrl-C to stop meshdp and remove the namespaces."
trap 'echo; echo stopping; exit 0' INT TERM
while kill -0 "$IT_MESHDP_PID" 2>/dev/null; do sleep 1; done
echo "meshdp exited; see $IT_WORK/meshdp.log"
